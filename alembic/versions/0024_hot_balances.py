"""A sale to a customer who already owes updates the customer in place (a HOT update).

``customers_owing_idx`` and ``customers_owing_own_terms_idx`` held only customers with
``balance > 0``; an index whose predicate reads a column makes every update of that
column a new row version with an entry in each of the table's six indexes (the
trigram index's pending list included), and every sale and payment updates the
balance.  ``balance > 0`` holds exactly when ``oldest_unpaid_at`` is set
(``customers_check1``), and ``own_terms_due_at`` is set exactly when that and the
customer's own terms are, so the same rows are kept by predicates on the indexes' own
keys: a debit to a customer who already owes, which leaves ``oldest_unpaid_at`` alone,
writes no index entry, and neither does a payment that leaves it alone.  The table
keeps a tenth of each new page free for those versions (``fillfactor``).  Queries that
asked only for ``balance > 0`` and read these indexes say ``oldest_unpaid_at IS NOT
NULL`` too (the aging report, the owing filter of ``customers``); the overdue list's
comparisons on the keys already imply it.  callgrind: 0.15M of a purchase's 7.4M
instructions in the database (bench/README.md "2026-12-04 (night)").

Revision ID: 0024_hot_balances
Revises: 0023_row_rules
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_hot_balances"
down_revision: str | None = "0023_row_rules"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _owing_indexes(default_terms: str, own_terms: str) -> str:
    return f"""
        DROP INDEX customers_owing_idx;
        DROP INDEX customers_owing_own_terms_idx;
        CREATE INDEX customers_owing_idx ON customers (business_id, oldest_unpaid_at, id)
            WHERE {default_terms};
        CREATE INDEX customers_owing_own_terms_idx
            ON customers (business_id, own_terms_due_at, id) WHERE {own_terms};
    """


def upgrade() -> None:
    op.execute(
        _owing_indexes("oldest_unpaid_at IS NOT NULL", "own_terms_due_at IS NOT NULL")
        + "ALTER TABLE customers SET (fillfactor = 90);"
    )


def downgrade() -> None:
    op.execute(
        _owing_indexes("balance > 0", "balance > 0 AND payment_terms_days IS NOT NULL")
        + "ALTER TABLE customers RESET (fillfactor);"
    )
