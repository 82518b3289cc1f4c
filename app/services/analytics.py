"""Top products, top customers and tax by rate over a period of the store's days.

Each is one statement over the rows themselves (orders by ``orders_created_idx``),
with the same rule as ``sales_summary``: a sale counts when it is made, a void or a
return when it is made, taking back what it takes back.  So for any period the
revenue of all products, and the sales of all customers plus walk-ins, add up to
the ``net`` of ``salesSummary``.

A line's revenue is what the customer pays for it: its amount less its discount and
its share of the bill discount, plus its tax when tax is added on top.  A return's
credit for a line is the amount stored with it.  Tax on returned units is not split
out by the credit note: ``taxSummary`` shows returns per rate as an amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import cache

from app.domain.reports import Period
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork

PERIOD = "z AS MATERIALIZED (SELECT CAST(:lo AS timestamptz) AS lo, CAST(:hi AS timestamptz) AS hi)"
LINE_NET = "(i.line_total - i.discount - i.bill_discount)"
LINE_PAID = f"({LINE_NET} + CASE WHEN o.prices_include_tax THEN 0 ELSE i.tax_amount END)"
LINES = "orders o JOIN order_items i ON i.business_id = o.business_id AND i.order_id = o.id"
SOLD_IN = f"o.business_id = {TENANT} AND o.created_at >= z.lo AND o.created_at < z.hi"
VOIDED_IN = "order_voids v JOIN orders o ON o.business_id = v.business_id AND o.id = v.order_id"
VOID_WHEN = f"v.business_id = {TENANT} AND v.created_at >= z.lo AND v.created_at < z.hi"
RETURNED_IN = (
    "order_returns r JOIN order_return_items ri ON ri.business_id = r.business_id"
    " AND ri.return_id = r.id"
    " JOIN order_items i ON i.business_id = ri.business_id AND i.order_id = ri.order_id"
    " AND i.product_id = ri.product_id"
)
RETURN_WHEN = f"r.business_id = {TENANT} AND r.created_at >= z.lo AND r.created_at < z.hi"


class TopBy(Enum):
    REVENUE = "revenue"
    QUANTITY = "quantity"


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    name: str
    sku: str
    quantity: int
    """Sold less voided and returned."""
    revenue: int
    returned_quantity: int
    returned: int
    """Voided and returned, in money."""


@dataclass(frozen=True)
class CustomerSales:
    customer_id: int
    name: str
    bills: int
    total: int
    """Sales less voids and returns."""
    paid: int
    """Paid at the counter on those bills."""
    returned: int


@dataclass(frozen=True)
class TaxRate:
    rate: Decimal
    """Percent."""
    taxable: int
    tax: int
    returned: int
    """Credit notes for units sold at this rate (tax included)."""


@cache
def _top_products(by: TopBy) -> ReadQuery:
    return ReadQuery(
        f"""
        WITH {PERIOD},
        moves AS (
            SELECT i.product_id, i.quantity, {LINE_PAID} AS amount, 0 AS back_quantity,
                   0 AS back
              FROM z, {LINES} WHERE {SOLD_IN}
            UNION ALL
            SELECT i.product_id, -i.quantity, -{LINE_PAID}, i.quantity, {LINE_PAID}
              FROM z, {VOIDED_IN}
              JOIN order_items i ON i.business_id = o.business_id AND i.order_id = o.id
             WHERE {VOID_WHEN}
            UNION ALL
            SELECT ri.product_id, -ri.quantity, -ri.amount, ri.quantity, ri.amount
              FROM z, {RETURNED_IN} WHERE {RETURN_WHEN}
        ),
        totals AS (
            SELECT m.product_id, sum(m.quantity) AS quantity, sum(m.amount) AS revenue,
                   sum(m.back_quantity) AS returned_quantity, sum(m.back) AS returned
              FROM moves m GROUP BY m.product_id
        )
        SELECT t.*, p.name, p.sku
          FROM totals t JOIN products p ON p.business_id = {TENANT} AND p.id = t.product_id
         ORDER BY t.{by.value} DESC, t.product_id LIMIT :limit
        """
    )


@cache
def _top_customers() -> ReadQuery:
    return ReadQuery(
        f"""
        WITH {PERIOD},
        moves AS (
            SELECT o.customer_id, 1 AS bills, o.total AS amount, o.paid_amount AS paid, 0 AS back
              FROM z, orders o WHERE {SOLD_IN} AND o.customer_id IS NOT NULL
            UNION ALL
            SELECT o.customer_id, 0, -o.total, 0, o.total
              FROM z, {VOIDED_IN} WHERE {VOID_WHEN} AND o.customer_id IS NOT NULL
            UNION ALL
            SELECT o.customer_id, 0, -r.credit_amount, 0, r.credit_amount
              FROM z, order_returns r
              JOIN orders o ON o.business_id = r.business_id AND o.id = r.order_id
             WHERE {RETURN_WHEN} AND o.customer_id IS NOT NULL
        ),
        totals AS (
            SELECT m.customer_id, sum(m.bills) AS bills, sum(m.amount) AS total,
                   sum(m.paid) AS paid, sum(m.back) AS returned
              FROM moves m GROUP BY m.customer_id
        )
        SELECT t.*, c.name
          FROM totals t JOIN customers c ON c.business_id = {TENANT} AND c.id = t.customer_id
         ORDER BY t.total DESC, t.customer_id LIMIT :limit
        """
    )


@cache
def _tax_summary() -> ReadQuery:
    taxable = f"({LINE_NET} - CASE WHEN o.prices_include_tax THEN i.tax_amount ELSE 0 END)"
    return ReadQuery(
        f"""
        WITH {PERIOD},
        moves AS (
            SELECT i.tax_rate, {taxable} AS taxable, i.tax_amount AS tax, 0 AS returned
              FROM z, {LINES} WHERE {SOLD_IN}
            UNION ALL
            SELECT i.tax_rate, -{taxable}, -i.tax_amount, 0
              FROM z, {VOIDED_IN}
              JOIN order_items i ON i.business_id = o.business_id AND i.order_id = o.id
             WHERE {VOID_WHEN}
            UNION ALL
            SELECT i.tax_rate, 0, 0, ri.amount FROM z, {RETURNED_IN} WHERE {RETURN_WHEN}
        )
        SELECT m.tax_rate, sum(m.taxable) AS taxable, sum(m.tax) AS tax,
               sum(m.returned) AS returned
          FROM moves m GROUP BY m.tax_rate ORDER BY m.tax_rate
        """
    )


def _params(period: Period, time_zone: str, **more: object) -> dict[str, object]:
    lo, hi = period.instants(time_zone)
    return {"lo": lo, "hi": hi, **more}


async def top_products(
    units: UnitsOfWork, *, period: Period, time_zone: str, by: TopBy, limit: int
) -> list[ProductSales]:
    rows = await _top_products(by).fetch(units, _params(period, time_zone, limit=limit))
    return [
        ProductSales(
            product_id=row["product_id"],
            name=row["name"],
            sku=row["sku"],
            quantity=int(row["quantity"]),
            revenue=int(row["revenue"]),
            returned_quantity=int(row["returned_quantity"]),
            returned=int(row["returned"]),
        )
        for row in rows
    ]


async def top_customers(
    units: UnitsOfWork, *, period: Period, time_zone: str, limit: int
) -> list[CustomerSales]:
    rows = await _top_customers().fetch(units, _params(period, time_zone, limit=limit))
    return [
        CustomerSales(
            customer_id=row["customer_id"],
            name=row["name"],
            bills=int(row["bills"]),
            total=int(row["total"]),
            paid=int(row["paid"]),
            returned=int(row["returned"]),
        )
        for row in rows
    ]


async def tax_summary(units: UnitsOfWork, *, period: Period, time_zone: str) -> list[TaxRate]:
    rows = await _tax_summary().fetch(units, _params(period, time_zone))
    return [
        TaxRate(
            rate=row["tax_rate"],
            taxable=int(row["taxable"]),
            tax=int(row["tax"]),
            returned=int(row["returned"]),
        )
        for row in rows
    ]
