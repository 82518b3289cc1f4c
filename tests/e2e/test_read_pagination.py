"""Cursor pagination: complete, stable, bounded, and strict about cursors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import make_product
from tests.ledger_data import add_customer, charge, payment, post

pytestmark = pytest.mark.both_routes

CUSTOMERS = """
query($first: Int!, $after: String, $search: String, $owing: Boolean) {
  customers(first: $first, after: $after, search: $search, owing: $owing) {
    edges { cursor node { id name phone balance } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

PRODUCTS = """
query($first: Int!, $after: String, $search: String) {
  products(first: $first, after: $after, search: $search) {
    edges { cursor node { id name sku } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

LEDGER = """
query($id: ID!, $first: Int!, $after: String) {
  customer(id: $id) {
    ledger(first: $first, after: $after) {
      edges { node { id kind amount balanceAfter createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

OVERDUE_LIST = """
query($asOf: DateTime, $first: Int!, $after: String) {
  overdueCustomers(asOf: $asOf, first: $first, after: $after) {
    edges { cursor node { customer { id } daysOverdue } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def customer_ids(tenant: Tenant, first: int, after: str | None = None, **filters: Any) -> Any:
    data = await tenant.data(CUSTOMERS, {"first": first, "after": after, **filters})
    return data["customers"]


async def walk(tenant: Tenant, query: str, field: str, first: int, **variables: Any) -> list[Any]:
    """Every node of a list, page by page, checking pageInfo on the way."""
    nodes: list[Any] = []
    after = None
    while True:
        data = (await tenant.data(query, {"first": first, "after": after, **variables}))[field]
        nodes += [edge["node"] for edge in data["edges"]]
        info = data["pageInfo"]
        if data["edges"]:
            assert info["endCursor"] == data["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            return nodes
        assert len(data["edges"]) == first
        after = info["endCursor"]


@pytest.fixture
async def roster(tenant: Tenant, owner_db: AsyncEngine) -> list[str]:
    """23 customers, some sharing a name, in the order the list must give them."""
    made = []
    for n in range(23):
        name = f"Customer {n // 2:02d}"  # pairs share a name: id breaks the tie
        made.append(
            (name, await add_customer(owner_db, tenant.id, name=name, phone=f"+91 98{n:03d}"))
        )
    return [str(customer_id) for _, customer_id in sorted(made)]


async def test_paging_through_customers_yields_each_once_in_name_then_id_order(
    tenant: Tenant, roster: list[str]
) -> None:
    for first in (1, 5, 23, 100):
        nodes = await walk(tenant, CUSTOMERS, "customers", first)
        assert [node["id"] for node in nodes] == roster


async def test_a_cursor_keeps_its_place_when_customers_are_added_before_it(
    tenant: Tenant, owner_db: AsyncEngine, roster: list[str]
) -> None:
    page = await customer_ids(tenant, 5)
    await add_customer(owner_db, tenant.id, name="Aardvark")
    await add_customer(owner_db, tenant.id, name="Customer 00")
    again = await customer_ids(tenant, 5, page["pageInfo"]["endCursor"])
    assert [edge["node"]["id"] for edge in again["edges"]] == roster[5:10]


async def test_search_matches_part_of_a_name_or_phone_whatever_the_case(
    tenant: Tenant, owner_db: AsyncEngine, roster: list[str]
) -> None:
    odd = await add_customer(owner_db, tenant.id, name="50% off_Shop", phone="+44 20 7946")
    names = [n["name"] for n in await walk(tenant, CUSTOMERS, "customers", 3, search="cUsToMeR 1")]
    assert names == ["Customer 10", "Customer 10", "Customer 11"]
    by_phone = await walk(tenant, CUSTOMERS, "customers", 3, search="98007")
    assert [n["id"] for n in by_phone] == [roster[7]]
    assert [n["id"] for n in await walk(tenant, CUSTOMERS, "customers", 5, search="0%")] == [
        str(odd)
    ]
    assert [n["id"] for n in await walk(tenant, CUSTOMERS, "customers", 5, search="f_s")] == [
        str(odd)
    ]
    assert len(await walk(tenant, CUSTOMERS, "customers", 50, search="   ")) == 24


async def test_owing_keeps_customers_with_a_positive_balance(
    tenant: Tenant, owner_db: AsyncEngine, roster: list[str]
) -> None:
    now = datetime.now(UTC)
    await post(owner_db, tenant.id, int(roster[3]), [charge(100, now)])
    await post(owner_db, tenant.id, int(roster[4]), [charge(100, now), payment(100, now)])
    owing = await walk(tenant, CUSTOMERS, "customers", 5, owing=True)
    assert [(n["id"], n["balance"]) for n in owing] == [(roster[3], "1.00")]
    not_owing = await walk(tenant, CUSTOMERS, "customers", 50, owing=False)
    assert [n["id"] for n in not_owing] == roster[:3] + roster[4:]
    # With a search too (its walk of the name index reads the table for the filter).
    for first in (1, 2, 50):
        found = await walk(tenant, CUSTOMERS, "customers", first, owing=True, search="TOMER")
        assert [n["id"] for n in found] == [roster[3]]
        found = await walk(tenant, CUSTOMERS, "customers", first, owing=False, search="mer 0")
        assert [n["id"] for n in found] == roster[:3] + roster[4:20]


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_a_page_size_past_the_limit_is_refused_clearly(tenant: Tenant, first: int) -> None:
    answer = await tenant.gql(CUSTOMERS, {"first": first})
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    assert "between 1 and 100" in error["message"]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "after",
    [
        "not a cursor",
        "",
        _cursor(b'["customers", "x"]'),
        _cursor(b'["customers", "x", -1]'),
        _cursor(b'["customers", "x", "1"]'),
        _cursor(b'["products", "x", 1]'),
        _cursor(b'{"customers": 1}'),
        _cursor(b"\xff\xfe"),
    ],
)
async def test_an_invalid_cursor_is_refused_clearly(tenant: Tenant, after: str) -> None:
    answer = await tenant.gql(CUSTOMERS, {"first": 5, "after": after})
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    assert "not a cursor of this list" in error["message"]


async def test_a_cursor_of_another_list_is_refused(tenant: Tenant, roster: list[str]) -> None:
    customers = await customer_ids(tenant, 1)
    answer = await tenant.gql(PRODUCTS, {"first": 5, "after": customers["pageInfo"]["endCursor"]})
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_products_page_by_name_and_search_name_or_sku(tenant: Tenant) -> None:
    made = [await make_product(tenant, name=f"Item {n % 4}") for n in range(9)]
    nodes = await walk(tenant, PRODUCTS, "products", 2)
    expected = sorted(made, key=lambda pid: (f"Item {made.index(pid) % 4}", int(pid)))
    assert [node["id"] for node in nodes] == expected
    assert [n["name"] for n in await walk(tenant, PRODUCTS, "products", 5, search="iTEM 3")] == [
        "Item 3",
        "Item 3",
    ]
    sku = nodes[0]["sku"]
    assert [n["id"] for n in await walk(tenant, PRODUCTS, "products", 5, search=sku)] == [
        nodes[0]["id"]
    ]


async def test_a_customers_ledger_pages_newest_first(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await add_customer(owner_db, tenant.id, name="Ledger")
    start = datetime.now(UTC) - timedelta(days=10)
    postings = [charge(1_000 * (n + 1), start + timedelta(hours=n)) for n in range(6)]
    await post(
        owner_db, tenant.id, customer, [*postings, payment(2_500, start + timedelta(days=1))]
    )
    nodes: list[Any] = []
    after = None
    while True:
        data = await tenant.data(LEDGER, {"id": str(customer), "first": 3, "after": after})
        ledger = data["customer"]["ledger"]
        nodes += [edge["node"] for edge in ledger["edges"]]
        if not ledger["pageInfo"]["hasNextPage"]:
            break
        after = ledger["pageInfo"]["endCursor"]
    assert [(n["kind"], n["amount"], n["balanceAfter"]) for n in nodes] == [
        ("PAYMENT", "-25.00", "185.00"),
        ("CHARGE", "60.00", "210.00"),
        ("CHARGE", "50.00", "150.00"),
        ("CHARGE", "40.00", "100.00"),
        ("CHARGE", "30.00", "60.00"),
        ("CHARGE", "20.00", "30.00"),
        ("CHARGE", "10.00", "10.00"),
    ]
    assert len({n["id"] for n in nodes}) == 7


async def test_the_overdue_list_pages_without_gaps_or_repeats(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    now = datetime.now(UTC)
    expected = []
    for n in range(12):
        customer = await add_customer(
            owner_db, tenant.id, name=f"Late {n}", terms_days=[None, 5, 20][n % 3]
        )
        await post(owner_db, tenant.id, customer, [charge(100, now - timedelta(days=n % 5))])
        expected.append(str(customer))
    as_of = (now + timedelta(days=60)).isoformat()
    whole = await tenant.data(OVERDUE_LIST, {"asOf": as_of, "first": 100, "after": None})
    in_one = [edge["node"]["customer"]["id"] for edge in whole["overdueCustomers"]["edges"]]
    assert sorted(in_one) == sorted(expected)
    days = [edge["node"]["daysOverdue"] for edge in whole["overdueCustomers"]["edges"]]
    assert days == sorted(days, reverse=True)
    paged = await walk(tenant, OVERDUE_LIST, "overdueCustomers", 5, asOf=as_of)
    assert [node["customer"]["id"] for node in paged] == in_one


async def test_a_viewer_may_read_every_list(tenant: Tenant, roster: list[str]) -> None:
    data = await tenant.data(CUSTOMERS, {"first": 1}, role=Role.VIEWER)
    assert data["customers"]["edges"][0]["node"]["id"] == roster[0]


async def test_reading_a_list_needs_an_api_key(tenant: Tenant) -> None:
    response = await tenant.http.post("/graphql", json={"query": "{ agingReport { total } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
