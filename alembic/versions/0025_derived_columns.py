"""The search texts and a customer's own due date kept by triggers, not generated.

PostgreSQL reads a table's generation expressions from their stored text and plans
them in every statement that updates a row of the table, whatever columns it sets
(``ExecInitStoredGenerated``): a sale updates its customer's balance and each of its
products' stock, so it read and planned all three expressions every time.  Each is now
a regular column kept by a ``BEFORE INSERT OR UPDATE OF`` trigger on the columns it is
made of and on itself, so it is computed exactly when a generated column would change,
and a write of the column itself is computed over: ``customers.search_text`` (name,
phone), ``customers.own_terms_due_at`` (``oldest_unpaid_at``, ``payment_terms_days``),
``products.search_text`` (name, SKU, barcode).  The stored values are already right:
``DROP EXPRESSION`` keeps them, and the indexes on them stay.  Only a session with
triggers off (``session_replication_role = replica``, superusers) can write them
otherwise, as it can write anything; ``bench/history.py`` sets the due date itself.
PostgreSQL's CPU per purchase, one at a time: 1.07 -> 1.01 ms (bench/README.md
"2026-12-04 (late night)").  ``orders.subtotal`` stays generated: an order is inserted
once, and it was a fifth of the gain.

Revision ID: 0025_derived_columns
Revises: 0024_hot_balances
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0025_derived_columns"
down_revision: str | None = "0024_hot_balances"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

DERIVED = {
    # trigger (and function): table, column, the columns it is made of
    "customers_search_text": ("customers", "search_text", ("name", "phone")),
    "customers_own_terms_due_at": (
        "customers",
        "own_terms_due_at",
        ("oldest_unpaid_at", "payment_terms_days"),
    ),
    "products_search_text": ("products", "search_text", ("name", "sku", "barcode")),
}


def upgrade() -> None:
    op.execute(revision_sql(revision, *DERIVED))
    for function, (table, column, sources) in DERIVED.items():
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column} DROP EXPRESSION;"
            f" CREATE TRIGGER {function} BEFORE INSERT OR UPDATE OF {', '.join(sources)},"
            f" {column} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    """Generated again: PostgreSQL 15 cannot make a column generated in place, so each
    is added anew (at the end of its table) and its indexes built again as 0024 and
    0020 left them."""
    for function, (table, _, _) in DERIVED.items():
        op.execute(f"DROP TRIGGER {function} ON {table}; DROP FUNCTION {function}()")
    op.execute(
        """
        ALTER TABLE customers
            DROP COLUMN own_terms_due_at,
            DROP COLUMN search_text,
            ADD COLUMN own_terms_due_at timestamptz
                GENERATED ALWAYS AS (due_at(oldest_unpaid_at, payment_terms_days)) STORED,
            ADD COLUMN search_text text
                GENERATED ALWAYS AS (lower(name) || E'\\n' || lower(coalesce(phone, ''))) STORED;
        ALTER TABLE products
            DROP COLUMN search_text,
            ADD COLUMN search_text text GENERATED ALWAYS AS (
                lower(name) || E'\\n' || lower(sku) || E'\\n' || lower(coalesce(barcode, '')))
                STORED;
        CREATE INDEX customers_owing_own_terms_idx
            ON customers (business_id, own_terms_due_at, id) WHERE own_terms_due_at IS NOT NULL;
        CREATE INDEX customers_search_idx ON customers USING gin (search_text gin_trgm_ops);
        CREATE INDEX products_search_idx ON products USING gin (search_text gin_trgm_ops);
        """
    )
