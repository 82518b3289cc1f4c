"""Read side: indexes for balances, overdue lists and aging at any ``asOf``.

* ``credit_ledger_timeline_idx`` answers "the last entry of this customer at or
  before instant X" with one backward index-only probe.  Its running totals are
  all an as-of question needs: ``charged_total`` and ``credited_total`` of that
  entry are what had been charged and paid by X.  Both totals are key columns so
  that entries sharing a ``created_at`` (the trigger makes times monotonic by
  raising a late entry to its predecessor's time) are ordered by what came last.
* ``due_at`` is a charge's due instant: terms x 24 hours later.  It adds days in
  UTC, where a day is always 24 hours, so it does not depend on the session time
  zone: that is what lets it be IMMUTABLE, appear in an index and be inlined.
* ``customers_owing_own_terms_idx`` orders owing customers that have their own
  payment terms by the due instant of their oldest unpaid charge.  Customers on
  the business's default terms are already in that order in
  ``customers_owing_idx`` (oldest unpaid first), so the overdue list merges two
  short index scans instead of sorting every owing customer.

Revision ID: 0003_read_side
Revises: 0002_purchase_and_payment
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_read_side"
down_revision: str | None = "0001_core_schema"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION due_at(made_at timestamptz, terms_days integer) RETURNS timestamptz
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN ((made_at AT TIME ZONE 'UTC') + make_interval(days => terms_days)) AT TIME ZONE 'UTC';

        CREATE INDEX credit_ledger_timeline_idx
            ON credit_ledger (business_id, customer_id, created_at, charged_total, credited_total);

        CREATE INDEX customers_owing_own_terms_idx
            ON customers (business_id, due_at(oldest_unpaid_at, payment_terms_days), id)
            WHERE balance > 0 AND payment_terms_days IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX customers_owing_own_terms_idx;
        DROP INDEX credit_ledger_timeline_idx;
        DROP FUNCTION due_at(timestamptz, integer);
        """
    )
