"""Corrections without erasing anything: stock adjustments, archiving, payment reversals.

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
* **A payment reversed** (a bounced cheque) is a ``payment_reversals`` row (why,
  when) and a ledger entry of kind ``reversal`` pointing at the payment's entry, for
  the same amount the other way.  The ledger's unique ``reverses_entry_id`` already
  lets an entry be reversed once only; the reversal's primary key says so too.

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
TENANT = "nullif(current_setting('app.business_id', true), '')::bigint"
NEW_TABLES = ("payment_reversals",)
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

CREATE TABLE payment_reversals (
    business_id bigint NOT NULL,
    payment_id  bigint NOT NULL,
    customer_id bigint NOT NULL,
    reason      text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (business_id, payment_id),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
        ON DELETE RESTRICT
);
"""


def _tenant_and_append_only(table: str) -> str:
    """RLS forced and keyed on the tenant, inserts only (as 0001 sets up its tables)."""
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table}
    USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT});
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION reject_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION reject_change();
GRANT SELECT, INSERT ON {table} TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    for table in NEW_TABLES:
        op.execute(_tenant_and_append_only(table))
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
        DROP TABLE {", ".join(reversed(NEW_TABLES))};
        ALTER TABLE products DROP COLUMN archived_at;
        ALTER TABLE customers DROP COLUMN archived_at;
        ALTER TABLE stock_movements
            DROP CONSTRAINT stock_movements_adjustment_reason,
            DROP COLUMN reason,
            DROP CONSTRAINT stock_movements_kind_check,
            ADD CONSTRAINT stock_movements_kind_check CHECK (kind IN ({STOCK_KINDS}));
        """
    )
