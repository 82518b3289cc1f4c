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

Revision ID: 0018_attribution
Revises: 0013_corrections
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0018_attribution"
down_revision: str | None = "0013_corrections"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

ATTRIBUTED_TABLES = (
    "orders", "payments", "credit_ledger", "stock_movements", "order_voids", "order_returns",
    "payment_reversals", "balance_adjustments", "refunds",
)  # fmt: skip
FUNCTIONS = ("purchase", "record_payment")

OLD_SIGNATURES = """
DROP FUNCTION purchase(bigint, bigint, bigint[], bigint[], bigint[], bigint, bigint[], text[],
    text[], bigint, text, text, text, timestamptz);
DROP FUNCTION record_payment(bigint, bigint, bigint, text, text, text, text);
"""
NEW_SIGNATURES = """
DROP FUNCTION purchase(bigint, bigint, bigint[], bigint[], bigint[], bigint, bigint[], text[],
    text[], bigint, text, text, text, timestamptz, bigint, bigint);
DROP FUNCTION record_payment(bigint, bigint, bigint, text, text, text, text, bigint, bigint);
"""


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


def upgrade() -> None:
    for table in ATTRIBUTED_TABLES:
        op.execute(_attributed(table))
    op.execute(OLD_SIGNATURES)
    op.execute(revision_sql(revision, *FUNCTIONS))


def downgrade() -> None:
    op.execute(NEW_SIGNATURES)
    op.execute(revision_sql("0013_corrections", *FUNCTIONS))
    for table in ATTRIBUTED_TABLES:
        op.execute(
            f"ALTER TABLE {table} DROP COLUMN created_by_user_id, DROP COLUMN created_by_key_id"
        )
