"""Corrections without erasing anything: stock adjustments.

Every correction is a new row that points at what it corrects; the append-only
triggers on the financial tables stay as they are.

* **Stock adjustments** (damage, loss, a count, other) are ``stock_movements`` of
  kind ``adjustment`` with their reason; the trigger applies them like any other
  movement, so stock still never goes below zero, and each movement keeps the
  stock after it (the stock before is that less its quantity).

Revision ID: 0012_corrections
Revises: 0009_sales_at_the_counter
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_corrections"
# 0010 and 0011 are being written on other branches; re-chained when they merge.
down_revision: str | None = "0009_sales_at_the_counter"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

STOCK_KINDS = "'initial', 'restock', 'sale', 'reversal'"

SCHEMA = f"""
ALTER TABLE stock_movements
    DROP CONSTRAINT stock_movements_kind_check,
    ADD CONSTRAINT stock_movements_kind_check
        CHECK (kind IN ({STOCK_KINDS}, 'return', 'adjustment')),
    ADD COLUMN reason text CHECK (reason IN ('DAMAGE', 'LOSS', 'COUNT', 'OTHER')),
    ADD CONSTRAINT stock_movements_adjustment_reason CHECK ((kind = 'adjustment') = (reason IS NOT NULL));
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    # Fails, as it should, once a correction exists: the old schema has no place for it.
    op.execute(
        f"""
        ALTER TABLE stock_movements
            DROP CONSTRAINT stock_movements_adjustment_reason,
            DROP COLUMN reason,
            DROP CONSTRAINT stock_movements_kind_check,
            ADD CONSTRAINT stock_movements_kind_check CHECK (kind IN ({STOCK_KINDS}));
        """
    )
