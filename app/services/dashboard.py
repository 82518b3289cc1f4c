"""The owner's dashboard: one day's sales and collections, and the shop as it is now.

The day's figures are its slots of ``sales_summaries`` (``app.services.sales_summary``).
What is owed and overdue now comes from ``owed_summaries`` and ``owed_changes``
(migration 0022: what is unsettled of the debits made in each quarter hour and by
how many customers, kept in the same transaction as each entry), so a read adds a
few hundred rows whatever the number of customers: for each terms customers are on,
the days wholly past due, the slots of the day its cutoff falls in, and the debits
of the slot it falls in, read from the ledger, so the figure is exact at the instant
of the read (docs/query-plans.md, "Sales summaries and the dashboard").  Customers
on the books are kept counted (``customer_counts``); low stock and expiring products
follow the catalogue's rules (``app.services.product_lists``: the rows
``lowStockProducts`` and ``expiringProducts`` list are the ones counted here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from app.domain.reports import Period, day_start, week_start
from app.services.product_lists import BUSINESS_PRODUCTS, EXPIRING_DAYS, LOW_STOCK, RESTOCKED
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


SLOT_ORIGIN = "'2000-01-01 00:00:00+00'"
"""The origin of the summaries' 15-minute slots and UTC days."""


def _past_due(column: str) -> str:
    """What the summaries hold in ``column`` for the debits of terms ``t`` made before
    its cutoff, but for those in the slot the cutoff falls in: the days before that
    slot's day, its day's slots before it, and the changes not yet folded."""
    return f"""
        (SELECT coalesce(sum(d.{column}), 0) FROM days d
          WHERE d.terms_days IS NOT DISTINCT FROM t.terms_days AND d.made_from < t.day_from)
      + (SELECT coalesce(sum(o.{column}), 0) FROM owed_summaries o
          WHERE o.business_id = {TENANT} AND o.span_minutes = 15
            AND o.made_from >= t.day_from AND o.made_from < t.slot_from
            AND o.terms_days IS NOT DISTINCT FROM t.terms_days)
      + (SELECT coalesce(sum(g.{column}), 0) FROM changes g
          WHERE g.terms_days IS NOT DISTINCT FROM t.terms_days AND g.made_slot < t.slot_from)"""


@cache
def _now_statement() -> ReadQuery:
    """Owed and overdue from the summaries (per terms ``t``: its cutoff, debits made
    before it are past due; the slot it falls in is read from the ledger, each debit's
    unsettled part as ``app.services.as_of`` reads it), the catalogue in one pass over
    the products, customers from their count and the week's from their index."""
    return ReadQuery(
        f"""
        WITH q AS MATERIALIZED (
            SELECT coalesce(CAST(:at AS timestamptz), clock_timestamp()) AS now,
                   b.payment_terms_days AS default_terms,
                   b.low_stock_default, CAST(now() AT TIME ZONE b.time_zone AS date)
                       AS today
              FROM businesses b WHERE b.id = {TENANT}
        ),
        days AS MATERIALIZED (
            SELECT o.terms_days, o.made_from, o.unsettled, o.owing
              FROM owed_summaries o WHERE o.business_id = {TENANT} AND o.span_minutes = 1440
        ),
        changes AS MATERIALIZED (
            SELECT g.terms_days, g.made_slot, g.unsettled, g.owing
              FROM owed_changes g WHERE g.business_id = {TENANT}
        ),
        cut AS MATERIALIZED (
            SELECT k.terms_days, x.cutoff,
                   date_bin('15 minutes', x.cutoff, {SLOT_ORIGIN}) AS slot_from,
                   date_bin('1 day', x.cutoff, {SLOT_ORIGIN}) AS day_from
              FROM (SELECT terms_days FROM days UNION SELECT terms_days FROM changes) k, q
             CROSS JOIN LATERAL (
                SELECT due_at(q.now, -coalesce(k.terms_days, q.default_terms)) AS cutoff OFFSET 0
             ) x
        ),
        late AS (
            SELECT {_past_due("unsettled")}
                 + (SELECT coalesce(sum(u.unsettled), 0)
                      FROM credit_ledger l
                     CROSS JOIN LATERAL (
                        SELECT CASE WHEN c.corrected_at IS NULL
                                    THEN least(l.amount,
                                               greatest(l.charged_total - c.credited_total, 0))
                                    ELSE (SELECT d.unsettled
                                            FROM unsettled_debits(c.business_id, c.id, 'infinity') d
                                           WHERE d.charged_total = l.charged_total) END
                                   AS unsettled
                          FROM customers c
                         WHERE c.business_id = l.business_id AND c.id = l.customer_id
                           AND c.payment_terms_days IS NOT DISTINCT FROM t.terms_days OFFSET 0
                     ) u
                     WHERE l.business_id = {TENANT} AND l.amount > 0
                       AND l.created_at >= t.slot_from AND l.created_at < t.cutoff) AS overdue,
                   {_past_due("owing")}
                 + (SELECT count(*) FROM customers c
                     WHERE c.business_id = {TENANT} AND c.balance > 0
                       AND c.oldest_unpaid_at >= t.slot_from AND c.oldest_unpaid_at < t.cutoff
                       AND c.payment_terms_days IS NOT DISTINCT FROM t.terms_days)
                       AS overdue_customers
              FROM cut t
        ),
        stock AS (
            SELECT count(*) FILTER (WHERE p.status = 'ACTIVE') AS active_products,
                   count(*) FILTER (WHERE {RESTOCKED} AND {LOW_STOCK}) AS low_stock,
                   count(*) FILTER (WHERE p.expiry_date <= s.today + {EXPIRING_DAYS})
                       AS expiring
              FROM {BUSINESS_PRODUCTS} p CROSS JOIN q s
             WHERE p.archived_at IS NULL
        )
        SELECT (SELECT coalesce(sum(unsettled), 0) FROM days)
             + (SELECT coalesce(sum(unsettled), 0) FROM changes) AS outstanding,
               (SELECT coalesce(sum(owing), 0) FROM days)
             + (SELECT coalesce(sum(owing), 0) FROM changes) AS owing_customers,
               (SELECT coalesce(sum(overdue), 0) FROM late) AS overdue,
               (SELECT coalesce(sum(overdue_customers), 0) FROM late) AS overdue_customers,
               (SELECT coalesce(sum(n.active), 0) FROM customer_counts n
                 WHERE n.business_id = {TENANT}) AS customers,
               (SELECT count(*) FROM customers c
                 WHERE c.business_id = {TENANT} AND c.archived_at IS NULL
                   AND c.created_at >= CAST(:week_lo AS timestamptz)
                   AND c.created_at < CAST(:week_hi AS timestamptz)) AS new_this_week,
               stock.*
          FROM stock
        """
    )


async def shop_now(
    units: UnitsOfWork, *, day: date, time_zone: str, at: datetime | None = None
) -> ShopNow:
    """The shop now (the week's new customers: the week of ``day``).  ``at``, for the
    tests, is a later instant: the figures it will have then if nothing is written."""
    week_lo = day_start(week_start(day), time_zone)
    _, week_hi = Period.of(day, day).instants(time_zone)
    (row,) = await _now_statement().fetch(units, {"at": at, "week_lo": week_lo, "week_hi": week_hi})
    return ShopNow(
        outstanding=int(row["outstanding"]),
        owing_customers=int(row["owing_customers"]),
        overdue=int(row["overdue"]),
        overdue_customers=int(row["overdue_customers"]),
        active_products=row["active_products"],
        low_stock=row["low_stock"],
        expiring=row["expiring"],
        customers=int(row["customers"]),
        new_this_week=row["new_this_week"],
    )


async def dashboard(units: UnitsOfWork, *, day: date, time_zone: str) -> Dashboard:
    sales = await period_totals(units, period=Period.of(day, day), time_zone=time_zone)
    now = await shop_now(units, day=day, time_zone=time_zone)
    return Dashboard(day=day, sales=sales, now=now)
