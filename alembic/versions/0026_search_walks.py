"""A search's walk in list order reads the list's index only.

A search first walks the business's customers or products in list order (name, or
price) and filters each row with the search (``listing.first_page``).  Each walked row
was a visit to the table, in index order, not table order: about 0.9 us.  The list
indexes now carry the walk's other columns (``search_text``, ``archived_at``), so the
walk is an index-only scan (about 0.26 us a row at 100,000 customers) and only the
page's rows are read from the table.  A key with included columns is still the same
key: every other use of these indexes is unchanged, and a sale's stock and balance
updates do not touch them.  bench/README.md, "2026-12-05, fourth machine: search
walks the index only".

Revision ID: 0026_search_walks
Revises: 0025_derived_columns
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_search_walks"
down_revision: str | None = "0025_derived_columns"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

INDEXES = {
    # index: table, key
    "customers_name_idx": ("customers", "business_id, name, id"),
    "products_name_idx": ("products", "business_id, name, id"),
    "products_price_idx": ("products", "business_id, price, id"),
}
WALKED = "search_text, archived_at"


def _rebuild(include: str) -> None:
    for index, (table, key) in INDEXES.items():
        op.execute(f"DROP INDEX {index}; CREATE INDEX {index} ON {table} ({key}){include}")


def upgrade() -> None:
    _rebuild(f" INCLUDE ({WALKED})")


def downgrade() -> None:
    _rebuild("")
