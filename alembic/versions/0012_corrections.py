"""Corrections without erasing anything: stock adjustments, archiving.

Every correction is a new row that points at what it corrects; the append-only
triggers on the financial tables stay as they are.

* **Stock adjustments** (damage, loss, a count, other) are ``stock_movements`` of
  kind ``adjustment`` with their reason; the trigger applies them like any other
  movement, so stock still never goes below zero, and each movement keeps the
  stock after it (the stock before is that less its quantity).
* **Archiving** is a soft delete: ``archived_at`` on customers and products (the
  service role may set only that column).  An archived row keeps its history and
  can still be read by id; lists leave it out unless asked; ``purchase()`` answers
  ``not_found`` marked ``archived`` for an archived customer or product (checked on
  the locked rows, so an archive racing a sale is either before or after it);
  ``record_payment()`` answers with ``archivedAt`` (an archived customer may still
  pay what they owe).

Revision ID: 0012_corrections
Revises: 0009_sales_at_the_counter
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0012_corrections"
# 0010 and 0011 are being written on other branches; re-chained when they merge.
down_revision: str | None = "0009_sales_at_the_counter"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
STOCK_KINDS = "'initial', 'restock', 'sale', 'reversal'"
FUNCTIONS = ("purchase", "record_payment")

SCHEMA = f"""
ALTER TABLE stock_movements
    DROP CONSTRAINT stock_movements_kind_check,
    ADD CONSTRAINT stock_movements_kind_check
        CHECK (kind IN ({STOCK_KINDS}, 'return', 'adjustment')),
    ADD COLUMN reason text CHECK (reason IN ('DAMAGE', 'LOSS', 'COUNT', 'OTHER')),
    ADD CONSTRAINT stock_movements_adjustment_reason CHECK ((kind = 'adjustment') = (reason IS NOT NULL));

ALTER TABLE customers ADD COLUMN archived_at timestamptz;
ALTER TABLE products ADD COLUMN archived_at timestamptz;
GRANT UPDATE (archived_at) ON customers, products TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(revision_sql(revision, *FUNCTIONS))


def downgrade() -> None:
    # Fails, as it should, once a correction exists: the old schema has no place for it.
    op.execute(revision_sql("0005_lean_write_path", "record_payment"))
    op.execute(
        revision_sql("0009_sales_at_the_counter", "purchase").replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
        )
    )
    op.execute(
        f"""
        ALTER TABLE products DROP COLUMN archived_at;
        ALTER TABLE customers DROP COLUMN archived_at;
        ALTER TABLE stock_movements
            DROP CONSTRAINT stock_movements_adjustment_reason,
            DROP COLUMN reason,
            DROP CONSTRAINT stock_movements_kind_check,
            ADD CONSTRAINT stock_movements_kind_check CHECK (kind IN ({STOCK_KINDS}));
        """
    )
