"""A table's row rules read once per statement, not one constraint at a time; queues
emptied by index scans.

PostgreSQL reads every CHECK constraint of a table from its stored text and plans it
again in each statement that writes a row of it, whichever columns the statement
writes.  A sale writes a row in ten tables with CHECKs and updates the stock of each
product it sells and the balance of its customer, so it read and planned about 70
rules: a quarter of its work in the database (callgrind, bench/README.md
"2026-12-04 (night)").

* ``products`` and ``customers``: the catalogue's rules (name, SKU, tax rate,
  description, category, unit, barcode, expiry date, status) and the profile's
  (name, phone, email, payment terms) move to the triggers
  ``products_catalogue_rules()`` and ``customers_profile_rules()``, fired
  ``BEFORE INSERT OR UPDATE OF`` those columns only: a stock movement or a ledger
  entry no longer reads them at all.
* The tables every sale or payment writes (``CHECKED``): each table's rules become
  one function, ``<table>_rules(columns)``, and the table's one CHECK constraint,
  ``<table>_rules``, calls it.  A statement then reads one function call instead of
  every rule, and the function's plans are kept by the session.

Every rule is kept, word for word as PostgreSQL printed it, and still holds for
every row, however it is written: a CHECK cannot be switched off like a trigger.
The rules on amounts and quantities of ``products`` and ``customers`` (stock, price,
cost price, minimum stock, credit limit, the balance) stay CHECKs of their own, as
docs/design.md has it; they cost a sale about 1%.  A refusal is the same as before:
SQLSTATE 23514 naming the rule's old constraint.  The functions' ``.sql`` files are
the rules' one text: the downgrade puts the constraints back from them.

The two functions that empty a queue, ``fold_owed_changes()`` and ``number_bills()``,
read it by a plain index scan instead of a bitmap scan (``SET enable_bitmapscan =
off`` on each function).  A bitmap scan left the index
entry of every row emptied before in place until VACUUM, so each call read more of
them than the last (2.5 ms for an empty bill queue after 53,344 sales); an index scan
marks them dead as it passes.

Revision ID: 0023_row_rules
Revises: 0022_owed_summaries
"""

import re
from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0023_row_rules"
down_revision: str | None = "0022_owed_summaries"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# Rules checked by a trigger on the columns they read, by table.
TRIGGERED = {
    "products": (
        "products_catalogue_rules",
        ("name", "sku", "tax_rate", "description", "category", "unit", "barcode",
         "expiry_date", "status"),
    ),
    "customers": ("customers_profile_rules", ("name", "phone", "email", "payment_terms_days")),
}  # fmt: skip

# Tables whose rules become one CHECK calling <table>_rules().
CHECKED = (
    "credit_ledger", "stock_movements", "order_items", "orders", "payments",
    "idempotency_keys", "bills_to_number", "owed_changes", "sales_summaries", "audit_log",
)  # fmt: skip

# The functions that empty a queue; they read it by index scan (the docstring).
QUEUES = ("fold_owed_changes(bigint)", "number_bills(bigint, bigint)")

_RULE = re.compile(r"IF NOT \((.*)\) THEN\n\s+broken := '(\w+)';")
_PARAMETERS = re.compile(r"CREATE FUNCTION \w+\(\n(.*?)\n\)", re.DOTALL)


def _rules(function: str) -> dict[str, str]:
    """The rules of ``function``'s file: constraint name to expression over the row's
    columns."""
    text = revision_sql(revision, function)
    return {name: rule.replace("NEW.", "") for rule, name in _RULE.findall(text)}


def _columns(function: str) -> list[str]:
    """The parameters of ``function``, named after the columns they are given."""
    match = _PARAMETERS.search(revision_sql(revision, function))
    assert match, function
    return [line.split()[0] for line in match.group(1).splitlines()]


def upgrade() -> None:
    for table, (function, columns) in TRIGGERED.items():
        op.execute(revision_sql(revision, function))
        drops = ", ".join(f"DROP CONSTRAINT {name}" for name in _rules(function))
        op.execute(f"ALTER TABLE {table} {drops}")
        op.execute(
            f"CREATE TRIGGER {function} BEFORE INSERT OR UPDATE OF {', '.join(columns)}"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    for table in CHECKED:
        function = f"{table}_rules"
        op.execute(revision_sql(revision, function))
        drops = "".join(f"DROP CONSTRAINT {name}, " for name in _rules(function))
        op.execute(
            f"ALTER TABLE {table} {drops}ADD CONSTRAINT {function}"
            f" CHECK ({function}({', '.join(_columns(function))}))"
        )
    for function in QUEUES:
        op.execute(f"ALTER FUNCTION {function} SET enable_bitmapscan = off")


def downgrade() -> None:
    for function in QUEUES:
        op.execute(f"ALTER FUNCTION {function} RESET enable_bitmapscan")
    for table in CHECKED:
        function = f"{table}_rules"
        adds = "".join(f", ADD CONSTRAINT {n} CHECK ({r})" for n, r in _rules(function).items())
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {function}{adds}")
        op.execute(f"DROP FUNCTION {function}")
    for table, (function, _) in TRIGGERED.items():
        op.execute(f"DROP TRIGGER {function} ON {table}")
        adds = ", ".join(f"ADD CONSTRAINT {n} CHECK ({r})" for n, r in _rules(function).items())
        op.execute(f"ALTER TABLE {table} {adds}")
        op.execute(f"DROP FUNCTION {function}()")
