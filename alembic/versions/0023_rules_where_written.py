"""Rules checked where their columns are written, and a fold that cleans as it goes.

PostgreSQL reads and plans every CHECK constraint of a table again in each statement
that writes one of its rows, whichever columns the statement writes.  A sale moves
the stock of each product it sells (``stock_movements_apply()``) and the balance of
its customer (``credit_ledger_apply()``), so it paid for every catalogue rule of
each product and every profile rule of the customer: about a tenth of a purchase's
work in the database (callgrind, bench/README.md "2026-12-04 (night)").

* ``products``: the catalogue's rules (name, SKU, tax rate, description, category,
  unit, barcode, expiry date, status) move to ``products_catalogue_rules()``, a
  trigger ``BEFORE INSERT OR UPDATE OF`` those columns.
* ``customers``: name, phone, email and payment terms move to
  ``customers_profile_rules()`` the same way.

The rules on amounts and quantities (stock, price, cost price, minimum stock, credit
limit, the balance) stay CHECKs, as docs/design.md has it; they cost a sale about 1%.

A refusal is the same as before: SQLSTATE 23514 naming the old constraint.  Rows
already stored passed the constraints.

The two functions that empty a queue, ``fold_owed_changes()`` and ``number_bills()``,
read it by a plain index scan instead of a bitmap scan.  A bitmap scan left the index
entry of every row emptied before in place until VACUUM, so each call read more of
them than the last (2.5 ms for an empty bill queue after 53,344 sales); an index scan
marks them dead as it passes.

Revision ID: 0023_rules_where_written
Revises: 0022_owed_summaries
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0023_rules_where_written"
down_revision: str | None = "0022_owed_summaries"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# The constraints that move, as 0001, 0008 and 0020 defined them (the downgrade adds
# them back), by table, with the trigger that takes them over.
RULES = {
    "products": (
        "products_catalogue_rules",
        {
            "products_name_check": "length(btrim(name)) BETWEEN 1 AND 200",
            "products_sku_check": "length(btrim(sku)) BETWEEN 1 AND 64",
            "products_tax_rate_check": "tax_rate BETWEEN 0 AND 100",
            "products_description_check": "length(description) <= 2000",
            "products_category_check": "length(btrim(category)) BETWEEN 1 AND 100",
            "products_unit_check":
                "unit IN ('PCS', 'KG', 'G', 'L', 'ML', 'DOZEN', 'PACK', 'BOX')",
            "products_barcode_check":
                "length(barcode) BETWEEN 1 AND 64 AND barcode !~ '[[:cntrl:]]'",
            "products_expiry_date_check": "expiry_date >= DATE '2000-01-01'",
            "products_status_check": "status IN ('ACTIVE', 'INACTIVE', 'DISCONTINUED')",
        },
        ("name", "sku", "tax_rate", "description", "category", "unit", "barcode",
         "expiry_date", "status"),
    ),
    "customers": (
        "customers_profile_rules",
        {
            "customers_name_check": "length(btrim(name)) BETWEEN 1 AND 200",
            "customers_phone_check": "length(phone) <= 40",
            "customers_email_check": "length(email) <= 254",
            "customers_payment_terms_days_check": "payment_terms_days BETWEEN 0 AND 3650",
        },
        ("name", "phone", "email", "payment_terms_days"),
    ),
}  # fmt: skip


# The functions that empty a queue, with the revision that created them.
QUEUES = {
    "fold_owed_changes": "0022_owed_summaries",
    "number_bills": "0014_bills_numbered_after_commit",
}


def upgrade() -> None:
    op.execute(revision_sql(revision, *(function for function, _, _ in RULES.values())))
    for table, (function, checks, columns) in RULES.items():
        drops = ", ".join(f"DROP CONSTRAINT {name}" for name in checks)
        op.execute(f"ALTER TABLE {table} {drops}")
        op.execute(
            f"CREATE TRIGGER {function} BEFORE INSERT OR UPDATE OF {', '.join(columns)}"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    op.execute(revision_sql(revision, *QUEUES))


def downgrade() -> None:
    for function, created_by in QUEUES.items():
        op.execute(
            revision_sql(created_by, function).replace(
                "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
            )
        )
    for table, (function, checks, _) in RULES.items():
        op.execute(f"DROP TRIGGER {function} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
        adds = ", ".join(f"ADD CONSTRAINT {name} CHECK ({rule})" for name, rule in checks.items())
        op.execute(f"ALTER TABLE {table} {adds}")
