"""Secrets of the service itself, generated once: what signs receipt links.

Every worker of every instance must sign and check a receipt link with the same
key, and a restart must not void the links already sent, so the key lives in the
database, generated here (``secrets.token_bytes``) rather than in each process.
``SECRET_KEY`` overrides it.  One row per purpose (``name``); the service role
may read them, nobody but the owner write them.  Not tenant data: no
``business_id``, no row level security.

Downgrading drops the table: every link signed with its key stops working.

Revision ID: 0010_service_secrets
Revises: 0009_sales_at_the_counter
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010_service_secrets"
down_revision: str | None = "0009_sales_at_the_counter"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
RECEIPT_LINKS = "receipt_links"
"""The key of receipt links (``app.receipts.links``)."""

UPGRADE = f"""
CREATE TABLE service_secrets (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z_]{{1,64}}$'),
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON service_secrets TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(
        sa.text("INSERT INTO service_secrets (name, secret) VALUES (:name, :secret)").bindparams(
            name=RECEIPT_LINKS, secret=secrets.token_bytes(32)
        )
    )


def downgrade() -> None:
    op.execute("DROP TABLE service_secrets")
