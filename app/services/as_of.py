"""SQL building blocks for "a customer's position at instant ``asOf``".

Every ledger row carries the running totals ``charged_total`` (sum of debits so
far) and ``credited_total`` (sum of credits so far), so a customer's position at
any instant is the totals of their last entry at or before it, one probe of
``credit_ledger_timeline_idx``.  First-in-first-out settlement needs nothing
more: credits settle the first ``credited`` units charged, so the oldest unpaid
debit is the first whose running ``charged_total`` exceeds ``credited`` (one probe
of ``credit_ledger_debits_idx``), and what is unsettled among debits made before
instant X is ``charged_total`` at X minus ``credited``.

When a customer has no entry after ``asOf`` (always the case for ``asOf`` at or
after the read), the cached columns on ``customers`` are that position already
and no ledger probe is made.  ``asOf`` defaults to ``clock_timestamp()`` taken
once per statement after its snapshot, so it is never earlier than an entry the
statement can see.

The fragments expect these aliases: ``c`` (customers), ``q`` (a one-row
relation with ``as_of`` and ``default_terms``).
"""

from __future__ import annotations

from app.services.unit_of_work import TENANT

AS_OF = f"""
clock AS MATERIALIZED (SELECT clock_timestamp() AS at),
q AS MATERIALIZED (
    SELECT coalesce(CAST(:as_of AS timestamptz), clock.at) AS as_of,
           coalesce(CAST(:as_of AS timestamptz), clock.at) >= clock.at AS cached_is_exact,
           b.payment_terms_days AS default_terms
      FROM clock, businesses b WHERE b.id = {TENANT}
)"""
"""CTEs ``clock`` and ``q``; ``q.cached_is_exact`` when no entry can be after ``as_of``."""

TERMS = "coalesce(c.payment_terms_days, q.default_terms)"


def last_totals(comparison: str, columns: str = "l.charged_total, l.credited_total") -> str:
    """Running totals of the customer's last entry whose ``created_at`` is ``comparison``."""
    return f"""
    SELECT {columns} FROM credit_ledger l
     WHERE l.business_id = c.business_id AND l.customer_id = c.id
       AND l.created_at {comparison}
     ORDER BY l.created_at DESC, l.charged_total DESC, l.credited_total DESC LIMIT 1"""


POSITION = f"""
CROSS JOIN LATERAL (
    SELECT c.charged_total AS charged, c.credited_total AS credited, c.oldest_unpaid_at
     WHERE c.last_entry_at IS NULL OR c.last_entry_at <= q.as_of
    UNION ALL
    SELECT a.charged, a.credited,
           (SELECT d.created_at FROM credit_ledger d
             WHERE a.charged > a.credited
               AND d.business_id = c.business_id AND d.customer_id = c.id
               AND d.amount > 0 AND d.charged_total > a.credited
             ORDER BY d.charged_total LIMIT 1)
      FROM (SELECT coalesce(e.charged_total, 0) AS charged,
                   coalesce(e.credited_total, 0) AS credited
              FROM (SELECT) AS one
              LEFT JOIN LATERAL ({last_totals("<= q.as_of")}) e ON true) a
     WHERE c.last_entry_at > q.as_of
) s"""
"""Lateral ``s``: ``charged``, ``credited`` and ``oldest_unpaid_at`` at ``q.as_of``."""


def charged_before(instant: str) -> str:
    """Everything charged to customer ``c`` strictly before ``instant`` (a SQL expression)."""
    return f"coalesce(({last_totals('< ' + instant, 'l.charged_total')}), 0)"


def charged_made_before(days_before_as_of: str) -> str:
    return charged_before(f"due_at(q.as_of, -({days_before_as_of}))")


CHARGED_PAST_DUE = f"""
CASE WHEN s.charged > s.credited AND due_at(s.oldest_unpaid_at, {TERMS}) < q.as_of
     THEN {charged_made_before(TERMS)} ELSE 0 END"""
"""Running charged total of the debits past due at ``q.as_of``; needs lateral ``s``."""
