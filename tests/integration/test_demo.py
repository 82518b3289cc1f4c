"""The first run's demo: a few months of a small shop that the books accept (issue 20, point 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.services.demo import CUSTOMERS, PRODUCTS, SALES, Demo, create_demo
from app.services.verify import verify_business
from tests.conftest import post_graphql

OVERVIEW = """
{
  agingReport { customerCount buckets { label amount customerCount } }
  overdueCustomers { edges { node { customer { name } daysOverdue overdueAmount } } }
  customers(first: 20) { edges { node { name balance overLimit } } }
  products(first: 20) { edges { node { name stock } } }
  settings { lowStockDefault timeZone }
}
"""
WALK_IN = """
query($id: ID!) { order(id: $id) { status customer { id } payments { method } refunds { method } } }
"""
ORDERS = """
query($id: ID!) {
  customer(id: $id) {
    orders(first: 100) { edges { node { createdAt paymentStatus status payments { method } } } }
  }
}
"""


@pytest.fixture(scope="module")
async def demo(owner_db: AsyncEngine, app_db: AsyncEngine, app_pool: DriverPool) -> Demo:
    return await create_demo(owner=owner_db, service=app_db, pool=app_pool)


async def test_the_books_accept_the_demo(demo: Demo, owner_db: AsyncEngine) -> None:
    assert await verify_business(owner_db, demo.business_id) == []


async def test_someone_is_overdue_in_every_aging_bucket(
    demo: Demo, http: httpx.AsyncClient
) -> None:
    data = (await post_graphql(http, OVERVIEW, token=demo.owner_key))["data"]
    buckets = {bucket["label"]: bucket for bucket in data["agingReport"]["buckets"]}
    assert list(buckets) == ["current", "1-30", "31-60", "61-90", "over 90"]
    assert all(b["customerCount"] >= 1 and b["amount"] != "0.00" for b in buckets.values()), buckets
    overdue = {e["node"]["customer"]["name"]: e["node"]["daysOverdue"]
               for e in data["overdueCustomers"]["edges"]}  # fmt: skip
    assert set(overdue) == {"Ravi Kirana", "Meera Textiles", "Kumar Sweets", "Lakshmi Caterers"}
    assert 1 <= overdue["Ravi Kirana"] <= 30
    assert 31 <= overdue["Meera Textiles"] <= 60
    assert 61 <= overdue["Kumar Sweets"] <= 90
    assert overdue["Lakshmi Caterers"] > 90
    balances = {e["node"]["name"]: e["node"]["balance"] for e in data["customers"]["edges"]}
    assert len(balances) == len(CUSTOMERS)
    assert balances["Asha General Store"] != "0.00", "owes, though nothing is due yet"
    assert balances["Joseph Bakery"] == "0.00", "paid up"
    assert not any(e["node"]["overLimit"] for e in data["customers"]["edges"])


async def test_a_couple_of_products_are_low_on_stock(demo: Demo, http: httpx.AsyncClient) -> None:
    data = (await post_graphql(http, OVERVIEW, token=demo.owner_key))["data"]
    low = data["settings"]["lowStockDefault"]
    stock = {e["node"]["name"]: e["node"]["stock"] for e in data["products"]["edges"]}
    assert len(stock) == len(PRODUCTS)
    assert sorted(name for name, units in stock.items() if units <= low) == [
        "Ghee 1 L", "Tea Powder 500 g"]  # fmt: skip
    assert data["settings"]["timeZone"] == "Asia/Kolkata"


async def test_sales_span_months_with_counter_payments_a_return_and_a_void(
    demo: Demo, http: httpx.AsyncClient
) -> None:
    """Walk-in sales have no customer to list them by: the orders are counted by status
    and method through the customers, and the walk-ins by number."""
    orders = []
    for customer_id in demo.customer_ids:
        answer = await post_graphql(http, ORDERS, {"id": str(customer_id)}, token=demo.owner_key)
        orders += [e["node"] for e in answer["data"]["customer"]["orders"]["edges"]]
    assert len(orders) == sum(sale.customer is not None for sale in SALES)
    times = [datetime.fromisoformat(order["createdAt"]) for order in orders]
    assert max(times) < datetime.now(UTC)
    assert min(times) < datetime.now(UTC) - timedelta(days=120)
    assert {o["paymentStatus"] for o in orders} == {"PAID", "PARTIAL", "CREDIT"}
    assert "PARTIALLY_RETURNED" in {o["status"] for o in orders}
    walk_ins = [demo.order_ids[i] for i, sale in enumerate(SALES) if sale.customer is None]
    methods, statuses = set(), []
    for order_id in walk_ins:
        answer = await post_graphql(http, WALK_IN, {"id": str(order_id)}, token=demo.owner_key)
        order = answer["data"]["order"]
        assert order["customer"] is None
        methods |= {payment["method"] for payment in order["payments"]}
        statuses.append((order["status"], [refund["method"] for refund in order["refunds"]]))
    assert methods == {"CASH", "UPI"}
    assert statuses.count(("VOIDED", ["CASH"])) == 1
    assert statuses.count(("COMPLETED", [])) == len(walk_ins) - 1
