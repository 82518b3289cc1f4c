"""The bill counter held for less: a sale writes its rows before it takes its number.

Every sale of a business waits for the business's bill counter, held from the
number to the commit (gap-free numbers, issue 15).  In 0009 the order row, which
carries the number, came first and every other row of the sale after it, all
inside that hold.  Here the foreign keys that point at ``orders`` are checked at
commit (``DEFERRABLE INITIALLY DEFERRED``), so ``purchase`` writes the charge,
the counter payments, the items and the stock movements under the order id it
will use, and only then takes the number and writes the order row and the key.
A foreign key is still never violated at commit; only its check moved.

Revision ID: 0011_short_bill_counter_hold
Revises: 0010_service_secrets
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0011_short_bill_counter_hold"
down_revision: str | None = "0010_service_secrets"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _references_to_orders(when: str) -> str:
    return f"""
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
              WHERE contype = 'f' AND confrelid = 'orders'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER CONSTRAINT %I {when}', c.tbl, c.conname);
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(_references_to_orders("DEFERRABLE INITIALLY DEFERRED"))
    op.execute(revision_sql(revision, "purchase"))


def downgrade() -> None:
    earlier = revision_sql("0009_sales_at_the_counter", "purchase")
    op.execute(earlier.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(_references_to_orders("NOT DEFERRABLE"))
