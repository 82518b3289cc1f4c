"""Sales summaries kept exact in the same transaction as each sale, payment and correction.

``sales_summaries`` holds, per business and 15-minute slot of UTC time, what
happened in it: bills and their figures (gross, discount, tax, total, paid at the
counter, left on credit, and how each bill was settled), voids and returns (with
their amounts), and money received, refunded and reversed per payment method.
Every current time zone's offset is a whole number of quarter hours, so a store's
day, week or month, in any zone and across daylight-saving changes, is a whole
number of slots: a month of a busy shop is at most ~3,000 slots to add up instead of
tens of thousands of orders.

The rows are written only by ``AFTER INSERT`` triggers on the append-only rows
(``orders``, ``payments``, ``refunds``, ``payment_reversals``, ``order_voids``,
``order_returns``), inside the transaction that writes them, through one
``SECURITY DEFINER`` function (``add_to_sales_summary``): the service role may only
read the summaries, and a figure can never be seen without the rows it sums
(``tests/integration/test_sales_summaries.py`` checks them against the raw rows on
random histories).  ``purchase()`` is unchanged: its counter payments are counted
by the orders trigger.  Each transaction writes only its own session's stripe (one
of sixteen, by backend process id) of a slot, so concurrent sales and payments of
one business seldom queue on one summary row (the service keeps a few connections
per worker), and summary rows never deadlock.

Existing rows are summed into the table when it is created.

Revision ID: 0017_sales_summaries
Revises: 0018_attribution
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0017_sales_summaries"
down_revision: str | None = "0018_attribution"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
TENANT = "nullif(current_setting('app.business_id', true), '')::bigint"
METHODS = ("cash", "upi", "card", "bank_transfer", "cheque", "other")
SALES = (
    "bills", "paid_in_full", "partly_paid", "on_credit", "gross", "discount", "tax", "total",
    "paid", "credit", "voids", "voided", "returns", "returned",
)  # fmt: skip
MONEY = tuple(
    f"{kind}_{method}" for kind in ("received", "refunded", "reversed") for method in METHODS
)
COLUMNS = SALES + MONEY
FUNCTIONS = (
    "add_to_sales_summary", "summarize_sale", "summarize_payment", "summarize_refund",
    "summarize_payment_reversal", "summarize_correction",
)  # fmt: skip

SCHEMA = f"""
CREATE TABLE sales_summaries (
    business_id bigint NOT NULL REFERENCES businesses (id) ON DELETE RESTRICT,
    slot        timestamptz NOT NULL
        CHECK (date_bin('15 minutes', slot, '2000-01-01 00:00:00+00') = slot),
    stripe      smallint NOT NULL CHECK (stripe BETWEEN 0 AND 15),
    {", ".join(f"{column} bigint NOT NULL DEFAULT 0" for column in COLUMNS)},
    PRIMARY KEY (business_id, slot, stripe)
);
ALTER TABLE sales_summaries ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales_summaries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sales_summaries
    USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT});
GRANT SELECT ON sales_summaries TO {APP_ROLE};

-- Sales by day and tops by product or customer read orders by time.
CREATE INDEX orders_created_idx ON orders (business_id, created_at);
"""

TRIGGERS = """
CREATE TRIGGER orders_summarize AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION summarize_sale();
CREATE TRIGGER payments_summarize AFTER INSERT ON payments
    FOR EACH ROW WHEN (NEW.order_id IS NULL) EXECUTE FUNCTION summarize_payment();
CREATE TRIGGER refunds_summarize AFTER INSERT ON refunds
    FOR EACH ROW EXECUTE FUNCTION summarize_refund();
CREATE TRIGGER payment_reversals_summarize AFTER INSERT ON payment_reversals
    FOR EACH ROW EXECUTE FUNCTION summarize_payment_reversal();
CREATE TRIGGER order_voids_summarize AFTER INSERT ON order_voids
    FOR EACH ROW EXECUTE FUNCTION summarize_correction();
CREATE TRIGGER order_returns_summarize AFTER INSERT ON order_returns
    FOR EACH ROW EXECUTE FUNCTION summarize_correction();
"""


def summed_rows(business: str = "") -> str:
    """``SELECT business_id, slot, <COLUMNS>``: every row of the tables the triggers
    watch, added up per slot as the triggers add them (stripes together).  With
    ``business`` (an SQL expression), that business's only.  The backfill below and
    the bench's invariant check (``bench/invariants.py``) use it."""
    sums = ", ".join(f"coalesce(sum(d.{column}), 0) AS {column}" for column in COLUMNS)
    where = f"WHERE business_id = {business}" if business else ""
    on = f"AND r.business_id = {business}" if business else ""
    return f"""
SELECT d.business_id, date_bin('15 minutes', d.slot, '2000-01-01 00:00:00+00') AS slot, {sums}
  FROM (
    SELECT jsonb_build_object('business_id', business_id, 'slot', created_at, 'bills', 1,
               'paid_in_full', (paid_amount = total)::integer,
               'partly_paid', (paid_amount > 0 AND paid_amount < total)::integer,
               'on_credit', (paid_amount = 0 AND total > 0)::integer,
               'gross', subtotal, 'discount', discount_total, 'tax', tax_total, 'total', total,
               'paid', paid_amount, 'credit', total - paid_amount) AS j
      FROM orders {where}
    UNION ALL
    SELECT jsonb_build_object('business_id', business_id, 'slot', created_at,
               'received_' || lower(method), amount) FROM payments {where}
    UNION ALL
    SELECT jsonb_build_object('business_id', business_id, 'slot', created_at,
               'refunded_' || lower(method), amount) FROM refunds {where}
    UNION ALL
    SELECT jsonb_build_object('business_id', r.business_id, 'slot', r.created_at,
               'reversed_' || lower(p.method), p.amount)
      FROM payment_reversals r
      JOIN payments p ON p.business_id = r.business_id AND p.id = r.payment_id {on}
    UNION ALL
    SELECT jsonb_build_object('business_id', r.business_id, 'slot', r.created_at, 'voids', 1,
               'voided', o.total)
      FROM order_voids r JOIN orders o ON o.business_id = r.business_id AND o.id = r.order_id {on}
    UNION ALL
    SELECT jsonb_build_object('business_id', business_id, 'slot', created_at, 'returns', 1,
               'returned', credit_amount) FROM order_returns {where}
  ) AS rows, jsonb_populate_record(NULL::sales_summaries, rows.j) AS d
 GROUP BY 1, 2"""


def backfill(business: str = "") -> str:
    """Existing rows into the summaries (stripe 0), as the triggers would have added them."""
    return f"""
INSERT INTO sales_summaries (business_id, slot, stripe, {", ".join(COLUMNS)})
SELECT business_id, slot, 0, {", ".join(COLUMNS)} FROM ({summed_rows(business)}) AS summed;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(revision_sql(revision, *FUNCTIONS))
    # Only the triggers (SECURITY DEFINER, run as the owner) may add to a summary.
    op.execute("REVOKE EXECUTE ON FUNCTION add_to_sales_summary(sales_summaries) FROM PUBLIC")
    op.execute(backfill())
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER order_returns_summarize ON order_returns;
        DROP TRIGGER order_voids_summarize ON order_voids;
        DROP TRIGGER payment_reversals_summarize ON payment_reversals;
        DROP TRIGGER refunds_summarize ON refunds;
        DROP TRIGGER payments_summarize ON payments;
        DROP TRIGGER orders_summarize ON orders;
        DROP FUNCTION summarize_correction(), summarize_payment_reversal(), summarize_refund(),
            summarize_payment(), summarize_sale(), add_to_sales_summary(sales_summaries);
        DROP INDEX orders_created_idx;
        DROP TABLE sales_summaries;
        """
    )
