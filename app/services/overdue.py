"""Overdue status of a page of customers, the overdue list and the aging report.

Each is one statement.  The arithmetic follows ``app.domain.overdue``; positions
at ``asOf`` come from ``app.services.as_of``.  Each statement comes in two
variants: "now" (no ``asOf`` given), which reads only the cached columns, and
"as of", which works for any instant and still uses the cached columns for
customers with no entry after it.

The overdue list is ordered by the due instant of each customer's oldest unpaid
charge (most overdue first, so ``daysOverdue`` never increases down the list),
ties by id.  When ``asOf`` is at or after the read, it merges two index scans
that already run in that order: customers on the business's default terms from
``customers_owing_idx`` (their due instants are in the same order as their
oldest unpaid charges) and customers with their own terms from
``customers_owing_own_terms_idx``; only ``first + 1`` rows are read from each.
For an ``asOf`` in the past, every customer's position at that instant is
computed from the ledger: that costs a few index probes per customer of the
business.

The aging report reads, per owing customer, the still unsettled debits in one
index range scan of ``credit_ledger_debits_idx`` and sums what was made by each
bucket's cut-off instant.

Days past due are whole elapsed days (``app.domain.overdue``), and no statement
computes them: each compares due instants (or creation instants) with the latest
instant that is past due by at least so many days (``app.services.as_of.due_by``),
a plain column, so the comparisons stay index conditions under Row Level Security.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from app.domain.overdue import AGING_BUCKETS, OverdueStatus, status_from_totals
from app.domain.records import CustomerRecord
from app.services.as_of import (
    AS_OF,
    CACHED_POSITION,
    CHARGED_PAST_DUE,
    CORRECTED,
    CUTOFF,
    POSITION,
    TERMS,
    due_by,
    unsettled,
)
from app.services.customers import CUSTOMER_COLUMNS, customer_from_row
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork


def status_from_row(row: Any) -> OverdueStatus:
    """The status in the ``STATUS_COLUMNS`` of ``row``."""
    return status_from_totals(
        as_of=row["as_of"],
        terms_days=row["terms"],
        charged=row["charged"],
        credited=row["credited"],
        oldest_unpaid_at=row["unpaid_since"],
        charged_past_due=row["charged_past_due"],
    )


STATUS_COLUMNS = f"""
    q.as_of, t.terms, s.charged, s.credited, s.oldest_unpaid_at AS unpaid_since,
    {CHARGED_PAST_DUE} AS charged_past_due"""


@cache
def _statuses_statement(*, now: bool) -> ReadQuery:
    return ReadQuery(
        f"""
        WITH {AS_OF}
        SELECT c.id, {STATUS_COLUMNS}
          FROM q, customers c
          {CUTOFF}
          {CACHED_POSITION if now else POSITION}
         WHERE c.business_id = {TENANT} AND c.id = ANY(CAST(:ids AS bigint[]))
        """
    )


async def overdue_statuses(
    units: UnitsOfWork, *, customer_ids: Sequence[int], as_of: datetime | None
) -> dict[int, OverdueStatus]:
    """Status at ``as_of`` (default: now) of each customer of the tenant among ``customer_ids``."""
    statement = _statuses_statement(now=as_of is None)
    rows = await statement.fetch(units, {"ids": list(customer_ids), "as_of": as_of})
    return {row["id"]: status_from_row(row) for row in rows}


class OverdueCustomer(NamedTuple):
    customer: CustomerRecord
    """As it is now."""
    status: OverdueStatus
    """At ``as_of``."""
    due_at: datetime
    """When the customer's oldest unpaid charge fell due: the list's sort key."""


_DUE_BY = due_by("q.as_of", "CAST(:min_days AS integer)")
"""Overdue with ``daysOverdue >= minDaysOverdue`` as the latest due instant allowed."""

_FROM_CACHE = f"""
    (SELECT c.id, due_at(c.oldest_unpaid_at, (SELECT default_terms FROM q)) AS due
       FROM customers c
      WHERE c.business_id = {TENANT} AND c.balance > 0 AND c.payment_terms_days IS NULL
        AND (SELECT cached_is_exact FROM q)
        AND c.oldest_unpaid_at <= (SELECT made_by FROM k)
        AND (c.oldest_unpaid_at, c.id) > ((SELECT after_made FROM k), :after_id)
      ORDER BY c.oldest_unpaid_at, c.id LIMIT :limit)
    UNION ALL
    (SELECT c.id, c.own_terms_due_at
       FROM customers c
      WHERE c.business_id = {TENANT} AND c.balance > 0 AND c.payment_terms_days IS NOT NULL
        AND (SELECT cached_is_exact FROM q)
        AND c.own_terms_due_at <= (SELECT due_by FROM k)
        AND (c.own_terms_due_at, c.id) > ((SELECT after_due FROM k), :after_id)
      ORDER BY c.own_terms_due_at, c.id LIMIT :limit)"""
"""Candidates when the cached columns are exact: two index scans in due order."""

_FROM_LEDGER = f"""
    (SELECT c.id, due_at(s.oldest_unpaid_at, {TERMS})
       FROM q, k, customers c
       {POSITION}
      WHERE c.business_id = {TENANT} AND NOT q.cached_is_exact
        AND s.charged > s.credited
        AND due_at(s.oldest_unpaid_at, {TERMS}) <= k.due_by
        AND (due_at(s.oldest_unpaid_at, {TERMS}), c.id) > (k.after_due, :after_id)
      ORDER BY 2, 1 LIMIT :limit)"""
"""Candidates at an instant in the past: every customer's position at that instant."""


@cache
def _overdue_statement(*, now: bool) -> ReadQuery:
    candidates = _FROM_CACHE if now else f"{_FROM_CACHE}\n    UNION ALL\n{_FROM_LEDGER}"
    return ReadQuery(
        f"""
        WITH {AS_OF},
        k AS MATERIALIZED (
            SELECT {_DUE_BY} AS due_by,
                   due_at({_DUE_BY}, -q.default_terms) AS made_by,
                   coalesce(CAST(:after_due AS timestamptz), '-infinity') AS after_due,
                   coalesce(due_at(CAST(:after_due AS timestamptz), -q.default_terms),
                            '-infinity') AS after_made
              FROM q
        ),
        page AS (
            SELECT * FROM ({candidates}) AS candidates
             ORDER BY due, id LIMIT :limit
        )
        SELECT page.due, {STATUS_COLUMNS}, {CUSTOMER_COLUMNS}
          FROM page
          JOIN customers c ON c.business_id = {TENANT} AND c.id = page.id
          JOIN businesses b ON b.id = c.business_id
          CROSS JOIN q
          {CUTOFF}
          {CACHED_POSITION if now else POSITION}
         ORDER BY page.due, page.id
        """
    )


async def overdue_customers(
    units: UnitsOfWork,
    *,
    as_of: datetime | None,
    min_days: int,
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[OverdueCustomer]:
    """Up to ``limit`` overdue customers by ``days_overdue >= min_days``, most overdue first.

    ``after`` is the (due instant, id) of the last customer of the previous page.
    """
    params = {
        "as_of": as_of,
        "min_days": min_days,
        "limit": limit,
        "after_due": None if after is None else after[0],
        "after_id": 0 if after is None else after[1],
    }
    rows = await _overdue_statement(now=as_of is None).fetch(units, params)
    return [
        OverdueCustomer(
            customer=customer_from_row(row), status=status_from_row(row), due_at=row["due"]
        )
        for row in rows
    ]


@dataclass(frozen=True)
class AgingTotals:
    as_of: datetime
    amounts: tuple[int, ...]
    """Per bucket of ``AGING_BUCKETS``."""
    customer_counts: tuple[int, ...]
    """Customers with something unsettled in each bucket; one customer may be in several."""
    customers_owing: int

    @property
    def total(self) -> int:
        return sum(self.amounts)


@cache
def _aging_statement(*, now: bool) -> ReadQuery:
    """``u<k>`` is what is unsettled of debits at least ``k`` whole days past due, i.e.
    made at or before ``made_by<k>``, for the lower bound ``k`` of each past-due bucket;
    a bucket holds the difference between the ``u`` of its lower bound and of the next
    bucket's.  Credits settle the first ``credited`` units charged, so that is the
    running ``charged_total`` of the last such debit beyond ``credited``; for a
    customer with a correction counting (``CORRECTED``) it is summed from
    ``unsettled_debits()`` instead.  A customer with nothing past due owes only
    "current": their debits are not read.
    """
    bounds = [bucket.from_days for bucket in AGING_BUCKETS if bucket.past_due]
    cutoffs = [f"due_at({due_by('q.as_of', k)}, -{TERMS}) AS made_by{k}" for k in bounds]
    by_totals = [
        f"coalesce(max(d.charged_total) FILTER (WHERE d.created_at <= x.made_by{k}), c.credited)"
        f" - c.credited AS u{k}"
        for k in bounds
    ]
    by_debit = [
        f"coalesce(sum(d.unsettled) FILTER (WHERE d.made_at <= x.made_by{k}), 0)" for k in bounds
    ]
    above = ["c.charged - c.credited", *(f"u.u{k}" for k in bounds)]
    below = [*(f"u.u{k}" for k in bounds), "0"]
    amounts = [f"{a} - {b} AS b{i}" for i, (a, b) in enumerate(zip(above, below, strict=True))]
    totals = [
        f"coalesce(sum(b{i}), 0) AS a{i}, count(*) FILTER (WHERE b{i} > 0) AS n{i}"
        for i in range(len(AGING_BUCKETS))
    ]
    from_ledger = f"""
        UNION ALL
        SELECT c.business_id, c.id, c.payment_terms_days, s.charged, s.credited,
               s.oldest_unpaid_at, c.corrected_at
          FROM q, customers c
          {POSITION}
         WHERE c.business_id = {TENANT} AND NOT q.cached_is_exact
           AND s.charged > s.credited"""
    return ReadQuery(
        f"""
        WITH {AS_OF},
        owing AS MATERIALIZED (
            SELECT c.business_id, c.id, c.payment_terms_days,
                   c.charged_total AS charged, c.credited_total AS credited, c.oldest_unpaid_at,
                   c.corrected_at
              FROM customers c
             WHERE c.business_id = {TENANT} AND c.oldest_unpaid_at IS NOT NULL
               AND (SELECT cached_is_exact FROM q)
            {"" if now else from_ledger}
        ),
        buckets AS (
            SELECT {", ".join(amounts)}
              FROM q, owing c
              CROSS JOIN LATERAL (SELECT {", ".join(cutoffs)} OFFSET 0) x
              CROSS JOIN LATERAL (
                  SELECT {", ".join(by_totals)}
                    FROM credit_ledger d
                   WHERE c.oldest_unpaid_at <= x.made_by{bounds[0]}
                     AND d.business_id = c.business_id AND d.customer_id = c.id
                     AND d.amount > 0
                     AND d.charged_total > c.credited AND d.charged_total <= c.charged
                  HAVING ({CORRECTED}) IS NOT TRUE
                  UNION ALL
                  {unsettled(", ".join(by_debit))}
                   WHERE c.oldest_unpaid_at <= x.made_by{bounds[0]}
                  HAVING {CORRECTED}
              ) u
        )
        SELECT q.as_of, count(buckets.b0) AS customers_owing, {", ".join(totals)}
          FROM q LEFT JOIN buckets ON true
         GROUP BY q.as_of
        """
    )


async def aging_report(units: UnitsOfWork, *, as_of: datetime | None) -> AgingTotals:
    (row,) = await _aging_statement(now=as_of is None).fetch(units, {"as_of": as_of})
    return AgingTotals(
        as_of=row["as_of"],
        amounts=tuple(int(row[f"a{i}"]) for i in range(len(AGING_BUCKETS))),
        customer_counts=tuple(int(row[f"n{i}"]) for i in range(len(AGING_BUCKETS))),
        customers_owing=row["customers_owing"],
    )
