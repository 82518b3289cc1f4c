"""The owner's dashboard: one day's sales and collections, and the shop as it is now.

The day's figures are its slots of ``sales_summaries`` (``app.services.sales_summary``).
What is owed, overdue, in stock and on the books is read as it is now, in one
statement: outstanding credit is the sum of positive balances; overdue amounts are
the first-in-first-out figures of ``app.domain.overdue`` from the cached columns
(``app.services.as_of``), read only for customers whose oldest unpaid charge is past
due; low stock and expiring products follow the catalogue's rules
(``app.services.product_lists``: the rows ``lowStockProducts`` and
``expiringProducts`` list are the ones counted here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from app.domain.reports import Period, day_start, week_start
from app.services.as_of import AS_OF, CACHED_POSITION, CHARGED_PAST_DUE, CUTOFF
from app.services.product_lists import EXPIRING_DAYS, LOW_STOCK, RESTOCKED
from app.services.reads import ReadQuery
from app.services.sales_summary import Bucket, period_totals
from app.services.unit_of_work import TENANT, UnitsOfWork


@dataclass(frozen=True)
class ShopNow:
    outstanding: int
    owing_customers: int
    overdue: int
    overdue_customers: int
    active_products: int
    low_stock: int
    expiring: int
    customers: int
    new_this_week: int


@dataclass(frozen=True)
class Dashboard:
    day: date
    sales: Bucket
    now: ShopNow


@cache
def _now_statement() -> ReadQuery:
    """One pass over the customers for the counts and outstanding credit, one over the
    products, and the overdue amounts of the customers whose oldest unpaid charge is
    past due (one ledger probe each, computed once per customer by the lateral)."""
    return ReadQuery(
        f"""
        WITH {AS_OF},
        people AS (
            SELECT coalesce(sum(c.balance) FILTER (WHERE c.balance > 0), 0) AS outstanding,
                   count(*) FILTER (WHERE c.balance > 0) AS owing_customers,
                   count(*) FILTER (WHERE c.archived_at IS NULL) AS customers,
                   count(*) FILTER (WHERE c.archived_at IS NULL
                                      AND c.created_at >= CAST(:week_lo AS timestamptz)
                                      AND c.created_at < CAST(:week_hi AS timestamptz))
                       AS new_this_week
              FROM customers c WHERE c.business_id = {TENANT}
        ),
        stock AS (
            SELECT count(*) FILTER (WHERE p.status = 'ACTIVE') AS active_products,
                   count(*) FILTER (WHERE {RESTOCKED} AND {LOW_STOCK}) AS low_stock,
                   count(*) FILTER (WHERE p.expiry_date <= s.today + {EXPIRING_DAYS})
                       AS expiring
              FROM products p
             CROSS JOIN (SELECT b.low_stock_default,
                                CAST(now() AT TIME ZONE b.time_zone AS date) AS today
                           FROM businesses b WHERE b.id = {TENANT}) s
             WHERE p.business_id = {TENANT} AND p.archived_at IS NULL
        ),
        late AS (
            SELECT coalesce(sum(d.amount), 0) AS overdue, count(*) AS overdue_customers
              FROM (
                SELECT x.charged_past_due - s.credited AS amount
                  FROM q, customers c
                  {CUTOFF}
                  {CACHED_POSITION}
                  CROSS JOIN LATERAL (SELECT {CHARGED_PAST_DUE} AS charged_past_due OFFSET 0) x
                 WHERE c.business_id = {TENANT} AND c.balance > 0
                   AND c.oldest_unpaid_at < t.due_cutoff
              ) d
             WHERE d.amount > 0
        )
        SELECT * FROM people, stock, late
        """
    )


async def dashboard(units: UnitsOfWork, *, day: date, time_zone: str) -> Dashboard:
    sales = await period_totals(units, period=Period.of(day, day), time_zone=time_zone)
    week_lo = day_start(week_start(day), time_zone)
    _, week_hi = Period.of(day, day).instants(time_zone)
    (row,) = await _now_statement().fetch(
        units, {"as_of": None, "week_lo": week_lo, "week_hi": week_hi}
    )
    now = ShopNow(
        outstanding=int(row["outstanding"]),
        owing_customers=row["owing_customers"],
        overdue=int(row["overdue"]),
        overdue_customers=row["overdue_customers"],
        active_products=row["active_products"],
        low_stock=row["low_stock"],
        expiring=row["expiring"],
        customers=row["customers"],
        new_this_week=row["new_this_week"],
    )
    return Dashboard(day=day, sales=sales, now=now)
