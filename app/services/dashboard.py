"""The owner's dashboard: one day's sales and collections, and the shop as it is now.

The day's figures are its slots of ``sales_summaries`` (``app.services.sales_summary``).
What is owed, overdue, in stock and on the books is read as it is now, in one
statement: outstanding credit is the sum of positive balances; overdue amounts are
the first-in-first-out figures of ``app.domain.overdue`` from the cached columns
(``app.services.as_of``), read only for customers whose oldest unpaid charge is past
due; low stock is stock at or below the store's ``lowStockDefault``.

Expiry dates are not in this schema yet: ``expiring_count`` and ``expiring_products``
are the one seam where the catalogue's expiry dates plug in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from app.domain.reports import Period, day_start, week_start
from app.services.as_of import AS_OF, CACHED_POSITION, CHARGED_PAST_DUE, CUTOFF
from app.services.reads import ReadQuery
from app.services.sales_summary import Bucket, period_totals
from app.services.unit_of_work import TENANT, UnitsOfWork

LOW_STOCK = "p.stock <= b.low_stock_default"
"""A product running low (``p`` products, ``b`` its business)."""


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


@dataclass(frozen=True)
class StockAlert:
    product_id: int
    name: str
    sku: str
    stock: int
    threshold: int


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
            SELECT count(*) AS active_products, count(*) FILTER (WHERE {LOW_STOCK}) AS low_stock
              FROM products p JOIN businesses b ON b.id = p.business_id
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


async def expiring_count(units: UnitsOfWork, *, day: date) -> int:
    """Products expiring soon.  Seam: main has no expiry dates yet; the catalogue's
    ``expiringProducts`` notion plugs in here (and in ``expiring_products``)."""
    return 0


async def expiring_products(units: UnitsOfWork, *, day: date, limit: int) -> list[StockAlert]:
    """The first ``limit`` products expiring soon; the same seam as ``expiring_count``."""
    return []


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
        expiring=await expiring_count(units, day=day),
        customers=row["customers"],
        new_this_week=row["new_this_week"],
    )
    return Dashboard(day=day, sales=sales, now=now)


@cache
def _low_stock_statement() -> ReadQuery:
    return ReadQuery(
        f"""
        SELECT p.id, p.name, p.sku, p.stock, b.low_stock_default AS threshold
          FROM products p JOIN businesses b ON b.id = p.business_id
         WHERE p.business_id = {TENANT} AND p.archived_at IS NULL AND {LOW_STOCK}
         ORDER BY p.stock, p.id LIMIT :limit
        """
    )


async def low_stock_products(units: UnitsOfWork, *, limit: int) -> list[StockAlert]:
    """The products lowest in stock first, up to ``limit``."""
    rows = await _low_stock_statement().fetch(units, {"limit": limit})
    return [
        StockAlert(row["id"], row["name"], row["sku"], row["stock"], row["threshold"])
        for row in rows
    ]
