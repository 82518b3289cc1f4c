"""A sale written in the past is dated in the past in the ledger too.

``purchase()`` takes the sale's instant (``p_sold_at``: NULL, meaning now, but in
tests and for the first run's demo history, ``app.services.demo``).  It dated the
order and its counter payments with it, but the ledger entries of the sale took the
column's default, now, so a sale written months ago was never overdue.  Here both
ledger inserts (the charge and each counter payment) take the sale's instant as
well; the ledger's trigger still moves an entry dated before the customer's last
one up to it, so each ledger stays in time order.  With ``p_sold_at`` NULL nothing
changes but that the entries carry the very instant the order does.
``purchase.sql`` here is 0018's with only the lines marked ``0019``.

Revision ID: 0019_demo
Revises: 0017_sales_summaries
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0019_demo"
down_revision: str | None = "0017_sales_summaries"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.execute(revision_sql(revision, "purchase"))


def downgrade() -> None:
    op.execute(revision_sql("0018_attribution", "purchase"))
