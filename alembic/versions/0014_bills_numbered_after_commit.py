"""Bill numbers taken after the sale commits, in batches, instead of inside it.

Until 0013 a sale took its bill number from the business's counter row and held
that row until its commit: gap-free numbers, but every sale of a business then
waited for the one before it to flush its commit to disk, so one business could
never sell faster than one commit flush at a time (about half the speed of
``purchase-uniform``, bench/README.md "Bill numbers after the commit").

Here a sale takes no number.  It writes its order and a row in ``bills_to_number``
(the year its number will carry, from the sale's instant in the store's time
zone), and commits.  ``number_bills(business, order)``, called by the service as
soon as the sale has committed, numbers every committed order of the business
still waiting, oldest id first, under one advisory lock per business, and answers
that order's number.  While one call flushes its commit the others queue; the
next one numbers every sale that committed meanwhile, so one flush numbers many
sales.  The series stays what issue 15 asks: consecutive per business and year
without gaps (only committed sales are ever numbered, and a numbering that rolls
back numbers nothing), unique, never reused.  A sale whose request died between
its commit and its numbering is numbered by the next call for that business
(any sale, or reading that order).

``bill_numbers`` is the one home of every order's number: the ``ORD-``/``BILL-``
numbers orders had are moved there and ``orders.number`` goes.  It is append-only
like the orders; the queue is not a financial record, and its rows are deleted as
they are numbered.

Revision ID: 0014_bills_numbered_after_commit
Revises: 0013_corrections
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import earlier_migration, revision_sql

revision: str = "0014_bills_numbered_after_commit"
down_revision: str | None = "0013_corrections"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
TENANT = "nullif(current_setting('app.business_id', true), '')::bigint"
NUMBER_BILLS = "number_bills(bigint, bigint)"

SCHEMA = f"""
CREATE TABLE bill_numbers (
    business_id bigint NOT NULL,
    order_id    bigint NOT NULL,
    number      text NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    numbered_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (business_id, order_id),
    UNIQUE (business_id, number),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE RESTRICT
);
CREATE TABLE bills_to_number (
    business_id bigint NOT NULL,
    order_id    bigint NOT NULL,
    year        integer NOT NULL CHECK (year BETWEEN 1 AND 9999),
    PRIMARY KEY (business_id, order_id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id)
        ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED
);
-- The owner reads every tenant's orders only with the policy not forced on it.
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
INSERT INTO bill_numbers (business_id, order_id, number, numbered_at)
SELECT business_id, id, number, created_at FROM orders;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
ALTER TABLE orders DROP COLUMN number;

ALTER TABLE bills_to_number ENABLE ROW LEVEL SECURITY;
ALTER TABLE bills_to_number FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bills_to_number
    USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT});
GRANT SELECT, INSERT, DELETE ON bills_to_number TO {APP_ROLE};
"""

GRANTS = f"""
REVOKE EXECUTE ON FUNCTION {NUMBER_BILLS} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {NUMBER_BILLS} TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    # RLS forced, append-only, inserts only for the service: as 0013 sets up its tables.
    op.execute(earlier_migration("0013_corrections")._tenant_and_append_only("bill_numbers"))
    op.execute(revision_sql(revision, "purchase", "number_bills"))
    op.execute(GRANTS)


def downgrade() -> None:
    # Number what is still waiting, then give the numbers back to the orders (the
    # append-only trigger is off for that one statement, inside this transaction).
    op.execute(
        """
        ALTER TABLE bills_to_number NO FORCE ROW LEVEL SECURITY;
        SELECT number_bills(business_id, NULL)
          FROM (SELECT DISTINCT business_id FROM bills_to_number) AS waiting;
        ALTER TABLE orders ADD COLUMN number text;
        ALTER TABLE orders DISABLE TRIGGER orders_append_only,
            NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE bill_numbers NO FORCE ROW LEVEL SECURITY;
        UPDATE orders o SET number = b.number
          FROM bill_numbers b WHERE b.business_id = o.business_id AND b.order_id = o.id;
        ALTER TABLE orders ENABLE TRIGGER orders_append_only, FORCE ROW LEVEL SECURITY;
        ALTER TABLE orders ALTER COLUMN number SET NOT NULL,
            ADD CONSTRAINT orders_business_id_number_key UNIQUE (business_id, number);
        """
    )
    op.execute(f"DROP FUNCTION {NUMBER_BILLS}")
    op.execute(revision_sql("0013_corrections", "purchase"))
    op.execute("DROP TABLE bills_to_number, bill_numbers")
