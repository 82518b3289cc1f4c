"""Attribution: every financial row and every correction records who wrote it.

Orders, payments, ledger entries, stock movements and the corrections' rows (voids,
returns, payment reversals, balance adjustments, refunds) gain
``created_by_user_id`` and ``created_by_key_id``: the signed-in user or the API key
that made the request, at most one of them (a CHECK says so).  Both point at their
row with keys that include ``business_id``, so a row can never name another
tenant's user or key.  Rows written before this revision, and rows the operator's
CLI writes (demo data), name nobody: both columns stay NULL.

Order items and returned items belong to their order and their return, which say
who.  The services pass the caller's identity as parameters, as they pass the
tenant; ``purchase()`` and ``record_payment()`` take it as two new trailing
arguments (NULL by default) and record it on every row they write and in their
answer, so a replay answers who made the original.  Their files here are 0013's with
only those lines added (marked ``0018``).

Also from issue 17: ``sessions prune`` (the operator's CLI, as the owner) deletes
sessions that ended (expired or revoked) at least a day ago, with their refresh
tokens.  Both tables force RLS, so, as 0002 does for expired idempotency keys,
policies for the owner alone let it see and delete those rows and no others.  Stale
``sign_in_throttle`` rows (no RLS) go too; ``request_counts`` are pruned by the
service itself every minute (``app.services.rate_limits``).

Revision ID: 0018_attribution
Revises: 0014_bills_numbered_after_commit
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0018_attribution"
down_revision: str | None = "0014_bills_numbered_after_commit"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

ATTRIBUTED_TABLES = (
    "orders", "payments", "credit_ledger", "stock_movements", "order_voids", "order_returns",
    "payment_reversals", "balance_adjustments", "refunds",
)  # fmt: skip
FUNCTIONS = ("purchase", "record_payment")

APP_ROLE = "credit_ledger_app"
OLD_PURCHASE = (
    "purchase(bigint, bigint, bigint[], bigint[], bigint[], bigint, bigint[], text[], text[],"
    " bigint, text, text, text, timestamptz)"
)
OLD_RECORD_PAYMENT = "record_payment(bigint, bigint, bigint, text, text, text, text)"
NEW_PURCHASE = OLD_PURCHASE.replace("timestamptz)", "timestamptz, bigint, bigint)")
NEW_RECORD_PAYMENT = OLD_RECORD_PAYMENT.replace("text)", "text, bigint, bigint)")


def _drop(*functions: str) -> str:
    return "".join(f"DROP FUNCTION {function};" for function in functions)


def _service_only(*functions: str) -> str:
    """As 0002: only the service role may call the use-case functions."""
    return "".join(
        f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC;"
        f" GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE};"
        for function in functions
    )


def _attributed(table: str) -> str:
    return f"""
ALTER TABLE {table}
    ADD COLUMN created_by_user_id bigint,
    ADD COLUMN created_by_key_id bigint,
    ADD CONSTRAINT {table}_created_by_one
        CHECK (created_by_user_id IS NULL OR created_by_key_id IS NULL),
    ADD CONSTRAINT {table}_created_by_user_fkey FOREIGN KEY (business_id, created_by_user_id)
        REFERENCES users (business_id, id) ON DELETE RESTRICT,
    ADD CONSTRAINT {table}_created_by_key_fkey FOREIGN KEY (business_id, created_by_key_id)
        REFERENCES api_keys (business_id, id) ON DELETE RESTRICT;
"""


SESSION_ENDED = "least({s}revoked_at, {s}expires_at) < now() - interval '1 day'"
"""A session that ended (expired or revoked) over a day ago: its tokens work no more."""
ENDED_SESSION = SESSION_ENDED.format(s="")
ENDED_SESSIONS_TOKEN = (
    "EXISTS (SELECT FROM user_sessions s WHERE s.business_id = refresh_tokens.business_id"
    f" AND s.id = refresh_tokens.session_id AND {SESSION_ENDED.format(s='s.')})"
)
PRUNING_POLICIES = f"""
CREATE POLICY owner_sees_ended_sessions ON user_sessions FOR SELECT TO CURRENT_USER
    USING ({ENDED_SESSION});
CREATE POLICY owner_prunes_ended_sessions ON user_sessions FOR DELETE TO CURRENT_USER
    USING ({ENDED_SESSION});
CREATE POLICY owner_sees_ended_sessions_tokens ON refresh_tokens FOR SELECT TO CURRENT_USER
    USING ({ENDED_SESSIONS_TOKEN});
CREATE POLICY owner_prunes_ended_sessions_tokens ON refresh_tokens FOR DELETE TO CURRENT_USER
    USING ({ENDED_SESSIONS_TOKEN});
"""
DROP_PRUNING_POLICIES = """
DROP POLICY owner_prunes_ended_sessions_tokens ON refresh_tokens;
DROP POLICY owner_sees_ended_sessions_tokens ON refresh_tokens;
DROP POLICY owner_prunes_ended_sessions ON user_sessions;
DROP POLICY owner_sees_ended_sessions ON user_sessions;
"""


def upgrade() -> None:
    for table in ATTRIBUTED_TABLES:
        op.execute(_attributed(table))
    op.execute(PRUNING_POLICIES)
    op.execute(_drop(OLD_PURCHASE, OLD_RECORD_PAYMENT))
    op.execute(revision_sql(revision, *FUNCTIONS))
    op.execute(_service_only(NEW_PURCHASE, NEW_RECORD_PAYMENT))


def downgrade() -> None:
    op.execute(DROP_PRUNING_POLICIES)
    op.execute(_drop(NEW_PURCHASE, NEW_RECORD_PAYMENT))
    op.execute(revision_sql("0014_bills_numbered_after_commit", "purchase"))
    op.execute(revision_sql("0013_corrections", "record_payment"))
    op.execute(_service_only(OLD_PURCHASE, OLD_RECORD_PAYMENT))
    for table in ATTRIBUTED_TABLES:
        op.execute(
            f"ALTER TABLE {table} DROP COLUMN created_by_user_id, DROP COLUMN created_by_key_id"
        )
