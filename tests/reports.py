"""Helpers for the reports tests: sales at chosen instants, and the queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Tenant

SETTINGS = "mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { __typename } }"
_SALE_AT = text(
    "SELECT purchase(:b, :c, CAST(:p AS bigint[]), CAST(:q AS bigint[]), CAST(:d AS bigint[]),"
    " :bill_discount, CAST(:amounts AS bigint[]), CAST(:methods AS text[]),"
    " CAST(:refs AS text[]), NULL, NULL, :k, 'h', :at)"
)


async def sale_at(
    app_db: AsyncEngine,
    tenant: Tenant,
    at: datetime,
    lines: list[tuple[int, int]],
    *,
    customer: int | None = None,
    paid: list[tuple[int, str]] = (),  # type: ignore[assignment]
    bill_discount: int = 0,
    key: str,
) -> dict[str, Any]:
    """A sale made at instant ``at`` (``purchase()``'s ``p_sold_at``), amounts in minor units."""
    lines = sorted(lines)
    async with app_db.connect() as connection:
        answer = (
            await connection.execute(
                _SALE_AT,
                {
                    "b": tenant.id, "c": customer, "p": [p for p, _ in lines],
                    "q": [q for _, q in lines], "d": [0] * len(lines),
                    "bill_discount": bill_discount, "amounts": [a for a, _ in paid],
                    "methods": [m for _, m in paid], "refs": [None] * len(paid), "k": key,
                    "at": at,
                },
            )
        ).scalar_one()  # fmt: skip
        await connection.commit()
    assert answer["result"] == "completed", answer
    return answer  # type: ignore[no-any-return]


DASHBOARD = """
query($date: Date) {
  dashboard(date: $date) {
    date
    sales { totalAmount billsCount paidInFull partlyPaid onCredit }
    collections { total byMethod { method amount } }
    creditOutstanding { totalAmount customersCount }
    overdue { totalAmount customersCount }
    inventory { activeProducts lowStockCount expiringCount }
    customers { total newThisWeek }
    alerts {
      lowStock(first: 5) { productId name stock threshold }
      expiring(first: 5) { productId }
    }
  }
}
"""

SALES_SUMMARY = """
query($from: Date!, $to: Date!, $groupBy: SalesGroupBy!) {
  salesSummary(from: $from, to: $to, groupBy: $groupBy) {
    start billsCount gross discount tax total returns net paid credit voidsCount returnsCount
  }
}
"""

COLLECTIONS = """
query($from: Date!, $to: Date!) {
  collectionsSummary(from: $from, to: $to) {
    received refunded reversed net byMethod { method received refunded reversed net }
  }
}
"""

TOP_PRODUCTS = """
query($from: Date!, $to: Date!, $by: TopProductsBy!) {
  topProducts(from: $from, to: $to, by: $by, first: 100) {
    productId name quantity revenue returnedQuantity returned
  }
}
"""

TOP_CUSTOMERS = """
query($from: Date!, $to: Date!) {
  topCustomers(from: $from, to: $to, first: 100) { customerId name billsCount total paid returned }
}
"""

TAX_SUMMARY = """
query($from: Date!, $to: Date!) {
  taxSummary(from: $from, to: $to) { rate taxableAmount taxAmount returned }
}
"""
