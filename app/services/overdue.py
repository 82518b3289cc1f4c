"""Overdue status of a page of customers, the overdue list and the aging report.

Each is one statement.  The arithmetic follows ``app.domain.overdue``; positions
at ``asOf`` come from ``app.services.as_of``.

The overdue list is ordered by the due instant of each customer's oldest unpaid
charge (most overdue first, so ``daysOverdue`` never increases down the list),
ties by id.  When ``asOf`` is at or after the read, the cached columns are exact
and the list merges two index scans that already run in that order: customers on
the business's default terms from ``customers_owing_idx`` (their due instants are
in the same order as their oldest unpaid charges) and customers with their own
terms from ``customers_owing_own_terms_idx``.  Only ``first + 1`` rows are read
from each.  For an ``asOf`` in the past, every customer's position is computed
from the ledger, so that case costs a probe per customer of the business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from app.domain.overdue import AGING_BUCKETS, OverdueStatus, status_from_totals
from app.domain.records import CustomerRecord
from app.services.as_of import AS_OF, CHARGED_PAST_DUE, POSITION, TERMS, charged_made_before
from app.services.customers import CUSTOMER_COLUMNS, customer_from_row
from app.services.unit_of_work import TENANT, UnitOfWork


def _status(row: Any) -> OverdueStatus:
    return status_from_totals(
        as_of=row.as_of,
        terms_days=row.terms,
        charged=row.charged,
        credited=row.credited,
        oldest_unpaid_at=row.unpaid_since,
        charged_past_due=row.charged_past_due,
    )


_STATUSES = text(
    f"""
    WITH {AS_OF}
    SELECT c.id, q.as_of, {TERMS} AS terms, s.charged, s.credited,
           s.oldest_unpaid_at AS unpaid_since,
           {CHARGED_PAST_DUE} AS charged_past_due
      FROM q, customers c
      {POSITION}
     WHERE c.business_id = {TENANT} AND c.id = ANY(CAST(:ids AS bigint[]))
    """
)


async def overdue_statuses(
    uow: UnitOfWork, *, customer_ids: Sequence[int], as_of: datetime | None
) -> dict[int, OverdueStatus]:
    """Status at ``as_of`` (default: now) of each customer of the tenant among ``customer_ids``."""
    rows = await uow.execute(_STATUSES, {"ids": list(customer_ids), "as_of": as_of})
    return {row.id: _status(row) for row in rows}


@dataclass(frozen=True)
class OverdueCustomer:
    customer: CustomerRecord
    """As it is now."""
    status: OverdueStatus
    """At ``as_of``."""
    due_at: datetime
    """When the customer's oldest unpaid charge fell due: the list's sort key."""


_DUE_BEFORE = "due_at(q.as_of, -greatest(CAST(:min_days AS integer) - 1, 0))"
"""``daysOverdue >= minDaysOverdue`` (and at least 1) as a bound on the due instant."""

_OVERDUE = text(
    f"""
    WITH {AS_OF},
    k AS MATERIALIZED (
        SELECT {_DUE_BEFORE} AS due_before,
               due_at({_DUE_BEFORE}, -q.default_terms) AS made_before,
               coalesce(CAST(:after_due AS timestamptz), '-infinity') AS after_due,
               coalesce(due_at(CAST(:after_due AS timestamptz), -q.default_terms),
                        '-infinity') AS after_made
          FROM q
    ),
    page AS (
        SELECT * FROM (
            (SELECT c.id, due_at(c.oldest_unpaid_at, (SELECT default_terms FROM q)) AS due
               FROM customers c
              WHERE c.business_id = {TENANT} AND c.balance > 0
                AND c.payment_terms_days IS NULL
                AND (SELECT cached_is_exact FROM q)
                AND c.oldest_unpaid_at < (SELECT made_before FROM k)
                AND (c.oldest_unpaid_at, c.id) > ((SELECT after_made FROM k), :after_id)
              ORDER BY c.oldest_unpaid_at, c.id LIMIT :limit)
            UNION ALL
            (SELECT c.id, due_at(c.oldest_unpaid_at, c.payment_terms_days)
               FROM customers c
              WHERE c.business_id = {TENANT} AND c.balance > 0
                AND c.payment_terms_days IS NOT NULL
                AND (SELECT cached_is_exact FROM q)
                AND due_at(c.oldest_unpaid_at, c.payment_terms_days) < (SELECT due_before FROM k)
                AND (due_at(c.oldest_unpaid_at, c.payment_terms_days), c.id)
                    > ((SELECT after_due FROM k), :after_id)
              ORDER BY due_at(c.oldest_unpaid_at, c.payment_terms_days), c.id LIMIT :limit)
            UNION ALL
            (SELECT c.id, due_at(s.oldest_unpaid_at, {TERMS})
               FROM q, k, customers c
               {POSITION}
              WHERE c.business_id = {TENANT} AND NOT q.cached_is_exact
                AND s.charged > s.credited
                AND due_at(s.oldest_unpaid_at, {TERMS}) < k.due_before
                AND (due_at(s.oldest_unpaid_at, {TERMS}), c.id) > (k.after_due, :after_id)
              ORDER BY 2, 1 LIMIT :limit)
        ) AS candidates
        ORDER BY due, id LIMIT :limit
    )
    SELECT page.due, q.as_of, {TERMS} AS terms, s.charged, s.credited,
           s.oldest_unpaid_at AS unpaid_since,
           {CHARGED_PAST_DUE} AS charged_past_due, {CUSTOMER_COLUMNS}
      FROM page
      JOIN customers c ON c.business_id = {TENANT} AND c.id = page.id
      JOIN businesses b ON b.id = c.business_id
      CROSS JOIN q
      {POSITION}
     ORDER BY page.due, page.id
    """
)


async def overdue_customers(
    uow: UnitOfWork,
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
    rows = await uow.execute(_OVERDUE, params)
    return [
        OverdueCustomer(customer=customer_from_row(row), status=_status(row), due_at=row.due)
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


def _unsettled_made_before(days: str) -> str:
    """What of customer ``c``'s debits made before ``as_of - days`` is unsettled."""
    return (
        f"CASE WHEN c.oldest_unpaid_at < due_at(q.as_of, -({days}))"
        f" THEN greatest({charged_made_before(days)} - c.credited, 0) ELSE 0 END"
    )


def _aging_statement() -> Any:
    """``u<d>`` is what is unsettled of debits more than ``d`` days past due, so a bucket
    holds the difference between the ``u`` of its lower bound and of its upper bound."""
    bounds = [bucket.to_days for bucket in AGING_BUCKETS if bucket.to_days is not None]
    unsettled = [f"{_unsettled_made_before(f'{TERMS} + {d}')} AS u{d}" for d in bounds]
    above = ["balance", *(f"u{d}" for d in bounds)]
    below = [*(f"u{d}" for d in bounds), "0"]
    amounts = [f"{a} - {b} AS b{i}" for i, (a, b) in enumerate(zip(above, below, strict=True))]
    totals = [
        f"coalesce(sum(b{i}), 0) AS a{i}, count(*) FILTER (WHERE b{i} > 0) AS n{i}"
        for i in range(len(AGING_BUCKETS))
    ]
    return text(
        f"""
    WITH {AS_OF},
    owing AS (
        SELECT c.business_id, c.id, c.payment_terms_days,
               c.charged_total AS charged, c.credited_total AS credited, c.oldest_unpaid_at
          FROM customers c
         WHERE c.business_id = {TENANT} AND c.balance > 0 AND (SELECT cached_is_exact FROM q)
        UNION ALL
        SELECT c.business_id, c.id, c.payment_terms_days, s.charged, s.credited, s.oldest_unpaid_at
          FROM q, customers c
          {POSITION}
         WHERE c.business_id = {TENANT} AND NOT q.cached_is_exact AND s.charged > s.credited
    ),
    parts AS (
        SELECT c.charged - c.credited AS balance, {", ".join(unsettled)}
          FROM q, owing c
    ),
    buckets AS (SELECT {", ".join(amounts)} FROM parts)
    SELECT q.as_of, count(buckets.b0) AS customers_owing, {", ".join(totals)}
      FROM q LEFT JOIN buckets ON true
     GROUP BY q.as_of
    """
    )


_AGING = _aging_statement()


async def aging_report(uow: UnitOfWork, *, as_of: datetime | None) -> AgingTotals:
    row = (await uow.execute(_AGING, {"as_of": as_of})).one()
    return AgingTotals(
        as_of=row.as_of,
        amounts=tuple(int(row._mapping[f"a{i}"]) for i in range(len(AGING_BUCKETS))),
        customer_counts=tuple(int(row._mapping[f"n{i}"]) for i in range(len(AGING_BUCKETS))),
        customers_owing=row.customers_owing,
    )
