"""Store settings, on the business row: what receipts, tax and "today" need.

They live on ``businesses`` because that row already holds the name, the
currency and the payment terms, and because ``businesses_notify`` (0007) already
announces every change to it: the workers' cached identities (which carry the
name, currency and terms) forget the business when any setting changes.  The
service role may update exactly these columns; row level security keeps it to
its own business.

``default_tax_rate`` and ``products.tax_rate`` are percentages with two decimals
(``numeric(5,2)``, 0-100); a product without its own rate uses the store's.
``time_zone`` is an IANA name that PostgreSQL knows (checked by the trigger);
the currency cannot change once the business has an order.

Revision ID: 0008_store_settings
Revises: 0007_notify_key_changes
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0008_store_settings"
down_revision: str | None = "0007_notify_key_changes"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"

UPGRADE = f"""
ALTER TABLE businesses
    ADD COLUMN phone text CHECK (length(phone) <= 40),
    ADD COLUMN address text CHECK (length(address) <= 500),
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    ADD COLUMN default_tax_rate numeric(5, 2) NOT NULL DEFAULT 0
        CHECK (default_tax_rate BETWEEN 0 AND 100),
    ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false,
    ADD COLUMN receipt_header text CHECK (length(receipt_header) <= 1000),
    ADD COLUMN receipt_footer text CHECK (length(receipt_footer) <= 1000),
    ADD COLUMN low_stock_default integer NOT NULL DEFAULT 0 CHECK (low_stock_default >= 0);
ALTER TABLE products ADD COLUMN tax_rate numeric(5, 2) CHECK (tax_rate BETWEEN 0 AND 100);

CREATE TRIGGER businesses_check_settings BEFORE INSERT OR UPDATE ON businesses
    FOR EACH ROW EXECUTE FUNCTION check_store_settings();

GRANT UPDATE (name, currency, currency_minor_units, payment_terms_days, phone, address,
              time_zone, default_tax_rate, prices_include_tax, receipt_header, receipt_footer,
              low_stock_default)
    ON businesses TO {APP_ROLE};
GRANT UPDATE (tax_rate) ON products TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(revision_sql(revision, "check_store_settings"))
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(
        f"""
        REVOKE UPDATE ON businesses FROM {APP_ROLE};
        REVOKE UPDATE (tax_rate) ON products FROM {APP_ROLE};
        DROP TRIGGER businesses_check_settings ON businesses;
        DROP FUNCTION check_store_settings();
        ALTER TABLE products DROP COLUMN tax_rate;
        ALTER TABLE businesses DROP COLUMN phone, DROP COLUMN address, DROP COLUMN time_zone,
            DROP COLUMN default_tax_rate, DROP COLUMN prices_include_tax,
            DROP COLUMN receipt_header, DROP COLUMN receipt_footer,
            DROP COLUMN low_stock_default;
        """
    )
