"""Read side: what balances, overdue lists, aging and search need to stay fast.

Row Level Security is forced on every tenant table, and PostgreSQL then only
uses a condition as an index condition when it is leakproof: comparisons of
plain columns are, computed expressions (``due_at(...)``, ``lower(...)``,
``ILIKE``) are not.  So what the read side compares is stored, not computed:

* ``credit_ledger_timeline_idx`` answers "the last entry of this customer at or
  before instant X" with one backward index-only probe.  Its running totals are
  all an as-of question needs: ``charged_total`` and ``credited_total`` of that
  entry are what had been charged and paid by X.  Both totals are key columns so
  that entries sharing a ``created_at`` (the trigger makes times monotonic by
  raising a late entry to its predecessor's time) are ordered by what came last.
* ``due_at`` is a charge's due instant: terms x 24 hours later.  It adds days in
  UTC, where a day is always 24 hours, so it does not depend on the session time
  zone: that is what lets it be IMMUTABLE and appear in a generated column.
* ``customers.own_terms_due_at`` (generated) is when the oldest unpaid charge of a
  customer with their own payment terms falls due; ``customers_owing_own_terms_idx``
  keeps those customers in that order.  Customers on the business's default terms
  are already in due order in ``customers_owing_idx`` (oldest unpaid first), so
  the overdue list merges two short index scans instead of sorting.
* ``customers.search_text`` (generated) is the lower-cased name and phone.  A
  substring search cannot use an index under RLS (``LIKE`` is not leakproof, so
  a pg_trgm index would never be used by the service role), but a plain ``LIKE``
  on lower-cased text scans about six times faster than ``ILIKE`` on two columns.

Revision ID: 0003_read_side
Revises: 0002_purchase_and_payment
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0003_read_side"
down_revision: str | None = "0002_purchase_and_payment"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.execute(revision_sql(revision, "due_at"))
    op.execute(
        """
        CREATE INDEX credit_ledger_timeline_idx
            ON credit_ledger (business_id, customer_id, created_at, charged_total, credited_total);

        ALTER TABLE customers
            ADD COLUMN own_terms_due_at timestamptz
                GENERATED ALWAYS AS (due_at(oldest_unpaid_at, payment_terms_days)) STORED,
            ADD COLUMN search_text text
                GENERATED ALWAYS AS (lower(name) || E'\\n' || lower(coalesce(phone, ''))) STORED;

        CREATE INDEX customers_owing_own_terms_idx
            ON customers (business_id, own_terms_due_at, id)
            WHERE balance > 0 AND payment_terms_days IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX customers_owing_own_terms_idx;
        ALTER TABLE customers DROP COLUMN search_text, DROP COLUMN own_terms_due_at;
        DROP INDEX credit_ledger_timeline_idx;
        DROP FUNCTION due_at(timestamptz, integer);
        """
    )
