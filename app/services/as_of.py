"""SQL building blocks for "a customer's position at instant ``asOf``".

Every ledger row carries the running totals ``charged_total`` (sum of debits so
far) and ``credited_total`` (sum of credits so far), so a customer's position at
any instant is the totals of their last entry at or before it, one probe of
``credit_ledger_timeline_idx``.  First-in-first-out settlement needs nothing
more: credits settle the first ``credited`` units charged, so the oldest unpaid
debit is the first whose running ``charged_total`` exceeds ``credited`` (one probe
of ``credit_ledger_debits_idx``), and what is unsettled among debits made before
instant X is ``charged_total`` at X minus ``credited``.

When a customer has no entry after ``asOf``, the cached columns on ``customers``
are that position already and no ledger probe is made.  That is always the case
for ``asOf`` at or after the read: entries take their time from the clock when
they are written (``created_at`` defaults to ``clock_timestamp()``, the trigger
only ever raises it to the previous entry's time), and ``asOf`` defaults to
``clock_timestamp()`` taken once per statement, after its snapshot.  So reads
"as of now" use the cached columns only, through smaller statements that are
cheaper to plan.

Row Level Security only lets a condition become an index condition when it is
leakproof, and computed expressions (``due_at(...)``, ``coalesce``) are not.  So
every probe compares an index column with a plain column computed beforehand in
a lateral subquery that ``OFFSET 0`` keeps from being flattened back into an
expression.

Corrections (a void, a return, a reversed payment) change how earlier entries
count (``app.domain.overdue``), which running totals cannot follow.  A customer
with one at or before ``asOf`` (``customers.corrected_at``, the instant of their
first, is ``CORRECTED``) is read through ``unsettled_debits()`` (migration
``0015_overdue_corrections``), which settles their history debit by debit; the
cached ``oldest_unpaid_at`` is kept exact for them by the ledger triggers.  The
balance, ``charged - credited``, is right either way.  Corrections are rare, so
everyone else keeps the index probes.

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
"""CTEs ``clock`` and ``q``: ``as_of`` (default: the clock), ``default_terms`` of the
business, and ``cached_is_exact``: no entry can be after ``as_of``."""

TERMS = "coalesce(c.payment_terms_days, q.default_terms)"

CUTOFF = f"""
CROSS JOIN LATERAL (
    SELECT {TERMS} AS terms, due_at(q.as_of, -{TERMS}) AS due_cutoff OFFSET 0
) t"""
"""Lateral ``t``: effective ``terms``, and ``due_cutoff``: debits made before it are past due."""


def due_by(as_of: str, days: int | str) -> str:
    """The latest due instant of a debit that is past due at ``as_of`` (SQL) by at least
    ``days`` whole days (a number, or an SQL expression); compare with ``<=``.

    Past due is due strictly before ``as_of``, and whole days are floored, so for
    ``days >= 1`` that is due at or before ``as_of - days x 24 h``; for ``days = 0``
    (past due at all) it is due at or before ``as_of - 1 microsecond``, which is
    exactly "before ``as_of``" because timestamps have microsecond resolution.
    """
    at_all = f"{as_of} - interval '1 microsecond'"
    if isinstance(days, int):
        return at_all if days == 0 else f"due_at({as_of}, -{days})"
    return f"CASE WHEN {days} = 0 THEN {at_all} ELSE due_at({as_of}, -({days})) END"


CORRECTED = "c.corrected_at <= q.as_of"
"""Whether a correction of customer ``c`` counts at ``q.as_of`` (NULL, not false, when
the customer has none)."""


def unsettled(columns: str) -> str:
    """``SELECT columns`` over ``d``, customer ``c``'s debits unsettled at ``q.as_of``."""
    return f"SELECT {columns} FROM unsettled_debits(c.business_id, c.id, q.as_of) d"


CACHED_POSITION = """
CROSS JOIN LATERAL (
    SELECT c.charged_total AS charged, c.credited_total AS credited, c.oldest_unpaid_at
) s"""
"""Lateral ``s`` when ``q.as_of`` is not before the read: the cached columns."""


def last_totals(comparison: str, columns: str = "l.charged_total, l.credited_total") -> str:
    """The customer's last entry whose ``created_at`` is ``comparison`` (a plain column)."""
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
    SELECT coalesce(e.charged_total, 0), coalesce(e.credited_total, 0),
           CASE WHEN {CORRECTED} THEN ({unsettled("d.made_at")} ORDER BY d.charged_total LIMIT 1)
           ELSE (SELECT d.created_at FROM credit_ledger d
                  WHERE e.charged_total > e.credited_total
                    AND d.business_id = c.business_id AND d.customer_id = c.id
                    AND d.amount > 0 AND d.charged_total > e.credited_total
                  ORDER BY d.charged_total LIMIT 1) END
      FROM (SELECT) AS one
      LEFT JOIN LATERAL ({last_totals("<= q.as_of")}) e ON true
     WHERE c.last_entry_at > q.as_of
) s"""
"""Lateral ``s``: ``charged``, ``credited`` and ``oldest_unpaid_at`` at any ``q.as_of``."""


def charged_before(cutoff: str) -> str:
    """Everything charged to customer ``c`` before ``cutoff`` (a plain column)."""
    return f"coalesce(({last_totals('< ' + cutoff, 'l.charged_total')}), 0)"


CHARGED_PAST_DUE = f"""
CASE WHEN NOT (s.charged > s.credited AND s.oldest_unpaid_at < t.due_cutoff) THEN 0
     WHEN {CORRECTED}
     THEN s.credited + ({unsettled("CAST(coalesce(sum(d.unsettled), 0) AS bigint)")}
                        WHERE d.made_at < t.due_cutoff)
     ELSE {charged_before("t.due_cutoff")} END"""
"""Running charged total of the debits past due at ``q.as_of``; needs ``s`` and ``t``.
For a corrected customer: what of it lies beyond ``credited`` is what is unsettled.
A ``bigint`` like its parts (a ``sum`` of ``bigint`` is ``numeric``, which the driver
reads as a ``Decimal``, for every row of a page)."""
