"""Every change to who may do what is announced: ``NOTIFY credit_ledger_auth``.

Each worker caches the identities of keys it has checked (``app.services.api_keys``)
and listens on this channel (``app.services.key_changes``), so a revocation reaches
every worker and instance as soon as it commits: PostgreSQL delivers a notification
only at commit, and never for a transaction that rolled back.

What decides who may do what: an API key (its role, its secret, ``revoked_at``) and
its business (what the cached identity carries: name, currency, payment terms).  The
payload says what to forget: ``cl_<business>_<key>`` (the key's public id) for a key,
``cl_<business>`` for a business and all its keys, and an empty payload, after a
``TRUNCATE``, for everything.  An update names both the old and the new row.

Revision ID: 0007_notify_key_changes
Revises: 0006_short_product_locks
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0007_notify_key_changes"
down_revision: str | None = "0006_short_product_locks"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

FUNCTIONS = ("notify_api_key_change", "notify_business_change", "notify_auth_truncate")

TRIGGERS = """
CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION notify_api_key_change();
CREATE TRIGGER api_keys_notify_truncate AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_truncate();
CREATE TRIGGER businesses_notify AFTER INSERT OR UPDATE OR DELETE ON businesses
    FOR EACH ROW EXECUTE FUNCTION notify_business_change();
CREATE TRIGGER businesses_notify_truncate AFTER TRUNCATE ON businesses
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_truncate();
"""


def upgrade() -> None:
    op.execute(revision_sql(revision, *FUNCTIONS))
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER businesses_notify_truncate ON businesses;
        DROP TRIGGER businesses_notify ON businesses;
        DROP TRIGGER api_keys_notify_truncate ON api_keys;
        DROP TRIGGER api_keys_notify ON api_keys;
        DROP FUNCTION notify_auth_truncate(), notify_business_change(), notify_api_key_change();
        """
    )
