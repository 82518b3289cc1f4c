"""Sales at the counter: walk-in customers, discounts, tax, money paid now, bill numbers.

An order now keeps what the checkout came to (``app/domain/checkout.py``): its
discounts, its tax, whether prices included it, and what was paid at the counter
(``subtotal`` is derived from them and the total, so it cannot disagree).  A
walk-in sale has no customer and is paid in full; the database refuses anything
else.  Each item keeps its discount, its share of the bill discount, and its tax
rate and amount, as it keeps its name and price.  Payments may belong to an order:
those made at the counter, with or without a customer.

Bill numbers (``BILL-2026-000001``) are consecutive per business and calendar year
in the store's time zone: a counter row per (business, year), incremented by the
sale's own transaction after everything that could refuse it, so a refused or
rolled-back sale takes no number, and sales of one business take their numbers in
commit order.  Orders made before this keep their ``ORD-`` numbers.

``purchase()`` takes the new arguments (a new signature; the old one is dropped),
and locks its products before deciding, as before 0006: what it writes now needs
the bill number, which comes last, so nothing can be written before the product
locks any more.  ``orders_customer_idx`` carries the total, so a customer's count
and sum of purchases are read from the index alone.

Revision ID: 0009_sales_at_the_counter
Revises: 0008_store_settings
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0009_sales_at_the_counter"
down_revision: str | None = "0008_store_settings"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
TENANT = "nullif(current_setting('app.business_id', true), '')::bigint"
OLD_PURCHASE = "purchase(bigint, bigint, bigint[], bigint[], bigint, text, text, text)"
PURCHASE = (
    "purchase(bigint, bigint, bigint[], bigint[], bigint[], bigint, bigint[], text[], text[],"
    " bigint, text, text, text, timestamptz)"
)

SCHEMA = f"""
ALTER TABLE orders
    ALTER COLUMN customer_id DROP NOT NULL,
    ADD COLUMN discount_total bigint NOT NULL DEFAULT 0 CHECK (discount_total >= 0),
    ADD COLUMN bill_discount bigint NOT NULL DEFAULT 0 CHECK (bill_discount >= 0),
    ADD COLUMN tax_total bigint NOT NULL DEFAULT 0 CHECK (tax_total >= 0),
    ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false,
    ADD COLUMN paid_amount bigint NOT NULL DEFAULT 0 CHECK (paid_amount >= 0),
    ADD COLUMN subtotal bigint NOT NULL GENERATED ALWAYS AS
        (total + discount_total - CASE WHEN prices_include_tax THEN 0 ELSE tax_total END) STORED,
    ADD CONSTRAINT orders_paid_within_total CHECK (paid_amount <= total),
    ADD CONSTRAINT orders_walk_in_paid_in_full CHECK (customer_id IS NOT NULL OR paid_amount = total);
DROP INDEX orders_customer_idx;
CREATE INDEX orders_customer_idx ON orders (business_id, customer_id, id DESC) INCLUDE (total);

ALTER TABLE order_items
    ADD COLUMN discount bigint NOT NULL DEFAULT 0 CHECK (discount >= 0),
    ADD COLUMN bill_discount bigint NOT NULL DEFAULT 0 CHECK (bill_discount >= 0),
    ADD COLUMN tax_rate numeric(5, 2) NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 100),
    ADD COLUMN tax_amount bigint NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
    ADD CONSTRAINT order_items_discounts_within_line CHECK (discount + bill_discount <= line_total);

ALTER TABLE payments
    ALTER COLUMN customer_id DROP NOT NULL,
    ADD COLUMN order_id bigint,
    ADD CONSTRAINT payments_order_fkey FOREIGN KEY (business_id, order_id)
        REFERENCES orders (business_id, id) ON DELETE RESTRICT,
    ADD CONSTRAINT payments_of_someone CHECK (customer_id IS NOT NULL OR order_id IS NOT NULL);
CREATE INDEX payments_order_idx ON payments (business_id, order_id) WHERE order_id IS NOT NULL;

CREATE TABLE bill_counters (
    business_id bigint NOT NULL REFERENCES businesses (id) ON DELETE RESTRICT,
    year        integer NOT NULL CHECK (year BETWEEN 1 AND 9999),
    last        bigint NOT NULL CHECK (last > 0),
    PRIMARY KEY (business_id, year)
);
ALTER TABLE bill_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE bill_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bill_counters
    USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT});
GRANT SELECT, INSERT, UPDATE (last) ON bill_counters TO {APP_ROLE};

DROP FUNCTION {OLD_PURCHASE};
"""

GRANTS = f"""
REVOKE EXECUTE ON FUNCTION {PURCHASE} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {PURCHASE} TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(revision_sql(revision, "purchase"))
    op.execute(GRANTS)


def downgrade() -> None:
    # Fails, as it should, once a walk-in sale or a counter payment exists: the old
    # schema has no place for them.
    op.execute(
        f"""
        DROP FUNCTION {PURCHASE};
        DROP TABLE bill_counters;
        DROP INDEX payments_order_idx;
        ALTER TABLE payments DROP CONSTRAINT payments_of_someone,
            DROP CONSTRAINT payments_order_fkey, DROP COLUMN order_id,
            ALTER COLUMN customer_id SET NOT NULL;
        ALTER TABLE order_items DROP CONSTRAINT order_items_discounts_within_line,
            DROP COLUMN discount, DROP COLUMN bill_discount, DROP COLUMN tax_rate,
            DROP COLUMN tax_amount;
        DROP INDEX orders_customer_idx;
        CREATE INDEX orders_customer_idx ON orders (business_id, customer_id, id DESC);
        ALTER TABLE orders DROP CONSTRAINT orders_walk_in_paid_in_full,
            DROP CONSTRAINT orders_paid_within_total, DROP COLUMN subtotal,
            DROP COLUMN discount_total, DROP COLUMN bill_discount, DROP COLUMN tax_total,
            DROP COLUMN prices_include_tax, DROP COLUMN paid_amount,
            ALTER COLUMN customer_id SET NOT NULL;
        """
    )
    # 0002 created purchase() with its grants, 0004 set its plans, 0006 wrote its body.
    op.execute(
        revision_sql("0006_short_product_locks", "purchase").replace(
            "CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1
        )
    )
    op.execute(
        f"REVOKE EXECUTE ON FUNCTION {OLD_PURCHASE} FROM PUBLIC;"
        f" GRANT EXECUTE ON FUNCTION {OLD_PURCHASE} TO {APP_ROLE};"
    )
