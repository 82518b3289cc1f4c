"""The catalogue a shop needs, and product and customer search that scales under RLS.

* **Product fields:** ``description``, ``category``, ``unit`` (``PCS KG G L ML DOZEN
  PACK BOX``), ``barcode`` (unique within a business when set, at most 64
  characters, no control characters), ``cost_price`` and ``min_stock`` (never
  negative; a null minimum means the store's ``low_stock_default``),
  ``expiry_date`` (not before 2000) and ``status`` (``ACTIVE INACTIVE
  DISCONTINUED``; separate from archiving).  The service role may update them.
* **Only active products can be sold:** ``purchase.sql`` here is 0019's with one
  check added on the locked rows (the lines marked ``0020``): a product that is not
  ``ACTIVE`` answers ``product_not_active`` with its id and status.
* **Search:** ``products.search_text`` (generated) is the lower-cased name, SKU and
  barcode, as ``customers.search_text`` is the name and phone (0003).  Where the
  server has ``pg_trgm`` and the migration runs as a superuser, each gets a GIN
  trigram index, and ``texticlike`` (``ILIKE``) is marked ``LEAKPROOF``: under
  forced row-level security PostgreSQL applies a condition before the policy's
  only when it is leakproof, so without the mark no index can serve ``ILIKE``
  for the service role.  ``ILIKE`` raises only for a malformed pattern (an
  escape at its end), which depends on the pattern, not on the rows; the service
  always escapes its patterns.  Elsewhere (no ``pg_trgm``, e.g. the embedded
  server, or no superuser) nothing of that is created and a search filters the
  business's rows, as before: correct, slower (docs/query-plans.md).
* **Indexes for the lists:** expiring products by date; ``price`` for the price
  sort.  Stock and ``updated_at`` are left unindexed: every sale changes them,
  and an index on either would make every sale's update of its product rows
  touch every index of ``products`` (no HOT update).

Revision ID: 0020_catalogue
Revises: 0016_audit_trail
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0020_catalogue"
down_revision: str | None = "0016_audit_trail"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
UNITS = "'PCS', 'KG', 'G', 'L', 'ML', 'DOZEN', 'PACK', 'BOX'"
STATUSES = "'ACTIVE', 'INACTIVE', 'DISCONTINUED'"
NEW_COLUMNS = (
    "description", "category", "unit", "barcode", "cost_price", "min_stock", "expiry_date",
    "status",
)  # fmt: skip

SCHEMA = f"""
ALTER TABLE products
    ADD COLUMN description text CHECK (length(description) <= 2000),
    ADD COLUMN category    text CHECK (length(btrim(category)) BETWEEN 1 AND 100),
    ADD COLUMN unit        text NOT NULL DEFAULT 'PCS' CHECK (unit IN ({UNITS})),
    ADD COLUMN barcode     text CHECK (length(barcode) BETWEEN 1 AND 64
                                       AND barcode !~ '[[:cntrl:]]'),
    ADD COLUMN cost_price  bigint CHECK (cost_price >= 0),
    ADD COLUMN min_stock   bigint CHECK (min_stock >= 0),
    ADD COLUMN expiry_date date CHECK (expiry_date >= DATE '2000-01-01'),
    ADD COLUMN status      text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ({STATUSES})),
    ADD COLUMN search_text text GENERATED ALWAYS AS (
        lower(name) || E'\\n' || lower(sku) || E'\\n' || lower(coalesce(barcode, ''))) STORED,
    ADD CONSTRAINT products_business_id_barcode_key UNIQUE (business_id, barcode);
CREATE INDEX products_category_idx ON products (business_id, category, id)
    WHERE category IS NOT NULL;
CREATE INDEX products_expiry_idx ON products (business_id, expiry_date, id)
    WHERE expiry_date IS NOT NULL;
CREATE INDEX products_price_idx ON products (business_id, price, id);
GRANT UPDATE ({", ".join(NEW_COLUMNS)}) ON products TO {APP_ROLE};
"""

# Only where pg_trgm can be installed and LIKE can be made usable under RLS.
TRIGRAM_SEARCH = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')
       AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        ALTER FUNCTION texticlike(text, text) LEAKPROOF;
        CREATE INDEX products_search_idx ON products USING gin (search_text gin_trgm_ops);
        CREATE INDEX customers_search_idx ON customers USING gin (search_text gin_trgm_ops);
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(TRIGRAM_SEARCH)
    op.execute(revision_sql(revision, "purchase"))


def downgrade() -> None:
    op.execute(revision_sql("0019_demo", "purchase"))
    op.execute(
        """
        DO $$
        BEGIN
            IF to_regclass('products_search_idx') IS NOT NULL THEN
                DROP INDEX products_search_idx;
                DROP INDEX customers_search_idx;
                ALTER FUNCTION texticlike(text, text) NOT LEAKPROOF;
                DROP EXTENSION IF EXISTS pg_trgm;
            END IF;
        END $$;
        """
    )
    op.execute(
        f"""
        REVOKE UPDATE ({", ".join(NEW_COLUMNS)}) ON products FROM {APP_ROLE};
        DROP INDEX products_price_idx, products_expiry_idx, products_category_idx;
        ALTER TABLE products
            DROP CONSTRAINT products_business_id_barcode_key,
            DROP COLUMN search_text,
            {", ".join(f"DROP COLUMN {column}" for column in NEW_COLUMNS)};
        """
    )
