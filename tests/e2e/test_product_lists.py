"""Finding products: filters, every sort both ways with stable cursors, and the alerts."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.e2e.test_catalogue import ARCHIVE, created, update
from tests.helpers import RESTOCK_PRODUCT
from tests.purchases import new_key

pytestmark = pytest.mark.both_routes

PRODUCTS = """
query($first: Int!, $after: String, $search: String, $category: String,
      $status: ProductStatus, $lowStock: Boolean, $sortBy: ProductSortBy!,
      $sortOrder: SortOrder!) {
  products(first: $first, after: $after, search: $search, category: $category,
           status: $status, lowStock: $lowStock, sortBy: $sortBy, sortOrder: $sortOrder) {
    edges { cursor node { id name stock price updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

LOW_STOCK = """
query($first: Int!, $after: String) {
  lowStockProducts(first: $first, after: $after) {
    edges { node { minimum product { id stock } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

EXPIRING = """
query($within: Int!, $first: Int!, $after: String) {
  expiringProducts(withinDays: $within, first: $first, after: $after) {
    edges { node { expiryDate daysLeft expired product { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SETTINGS = "mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { __typename } }"

# The dashboard counts and shows the same rows (issue 18, point 3).
BOARD = """
{ dashboard {
    inventory { activeProducts lowStockCount expiringCount }
    alerts {
      lowStock(first: 5) { productId stock threshold }
      expiring(first: 5) { productId expiryDate }
    }
} }
"""


async def pages(
    tenant: Tenant, query: str, field: str, first: int, after: str | None = None, **variables: Any
) -> list[Any]:
    nodes: list[Any] = []
    while True:
        data = (await tenant.data(query, {"first": first, "after": after, **variables}))[field]
        nodes += [edge["node"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return nodes
        after = data["pageInfo"]["endCursor"]


async def listed(tenant: Tenant, first: int, **variables: Any) -> list[str]:
    variables = {"sortBy": "NAME", "sortOrder": "ASC", **variables}
    return [node["id"] for node in await pages(tenant, PRODUCTS, "products", first, **variables)]


@pytest.fixture
async def shelf(tenant: Tenant) -> list[dict[str, Any]]:
    """Nine products whose names, stock and prices tie in threes."""
    made = []
    for n in range(9):
        fields = {"name": f"Item {n % 3}", "stock": 10 * (n % 3), "price": f"{n // 3}.00"}
        made.append(await created(tenant, category="Odd" if n % 2 else "Even", **fields))
    return made


SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "NAME": lambda p: p["name"],
    "STOCK": lambda p: p["stock"],
    "PRICE": lambda p: float(p["price"]),
    "UPDATED_AT": lambda p: p["updatedAt"],
}


@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize("sort", list(SORTS))
async def test_every_sort_pages_through_each_product_once_ties_broken_by_id(
    tenant: Tenant, shelf: list[dict[str, Any]], sort: str, order: str
) -> None:
    key = SORTS[sort]
    expected = sorted(shelf, key=lambda p: (key(p), int(p["id"])), reverse=order == "DESC")
    for first in (1, 2, 4, 9):
        assert await listed(tenant, first, sortBy=sort, sortOrder=order) == [
            p["id"] for p in expected
        ]


@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize("sort", list(SORTS))
async def test_a_search_pages_in_every_sort_with_the_low_stock_filter_too(
    tenant: Tenant, shelf: list[dict[str, Any]], sort: str, order: str
) -> None:
    # Sorted by name or price a search walks the list first (listing.first_page); by
    # stock or time it reads its matches; both with and without the low-stock filter.
    await tenant.data(SETTINGS, {"input": {"lowStockDefault": 10}})
    key = SORTS[sort]

    def expected(keep: Callable[[dict[str, Any]], bool]) -> list[str]:
        kept = sorted(filter(keep, shelf), key=lambda p: (key(p), int(p["id"])))
        return [p["id"] for p in (reversed(kept) if order == "DESC" else kept)]

    for first in (1, 2, 9):
        found = await listed(tenant, first, sortBy=sort, sortOrder=order, search="EM 1")
        assert found == expected(lambda p: p["name"] == "Item 1")
        low = await listed(tenant, first, sortBy=sort, sortOrder=order, search="item",
                           lowStock=True)  # fmt: skip
        assert low == expected(lambda p: p["stock"] < 10)
        high = await listed(tenant, first, sortBy=sort, sortOrder=order, search="item",
                            lowStock=False)  # fmt: skip
        assert high == expected(lambda p: p["stock"] >= 10)


async def test_a_cursor_keeps_its_place_when_sort_values_change_between_pages(
    tenant: Tenant, shelf: list[dict[str, Any]]
) -> None:
    expected = sorted(shelf, key=lambda p: (p["stock"], int(p["id"])))
    variables = {"sortBy": "STOCK", "sortOrder": "ASC", "first": 4}
    page = (await tenant.data(PRODUCTS, variables))["products"]
    seen = [edge["node"]["id"] for edge in page["edges"]]
    assert seen == [p["id"] for p in expected[:4]]
    # One product already seen moves past the cursor, one not yet seen moves before it.
    await tenant.data(RESTOCK_PRODUCT, {"input": {"productId": seen[0], "quantity": 100,
                                                  "idempotencyKey": new_key()}})  # fmt: skip
    await update(tenant, expected[-1]["id"], name="Item 0")
    rest = await pages(tenant, PRODUCTS, "products", 4, after=page["pageInfo"]["endCursor"],
                       sortBy="STOCK", sortOrder="ASC")  # fmt: skip
    unchanged = [p["id"] for p in expected[4:]]
    assert [node["id"] for node in rest] == [*unchanged, seen[0]]


async def test_a_cursor_of_another_sort_is_refused(
    tenant: Tenant, shelf: list[dict[str, Any]]
) -> None:
    page = await tenant.data(PRODUCTS, {"first": 1, "sortBy": "NAME", "sortOrder": "ASC"})
    cursor = page["products"]["pageInfo"]["endCursor"]
    for sort, order in (("NAME", "DESC"), ("STOCK", "ASC"), ("UPDATED_AT", "DESC")):
        answer = await tenant.gql(
            PRODUCTS, {"first": 1, "after": cursor, "sortBy": sort, "sortOrder": order}
        )
        assert answer["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    forged = base64.urlsafe_b64encode(b'["products:STOCK:ASC", "ten", 1]').decode()
    answer = await tenant.gql(PRODUCTS, {"first": 1, "after": forged, "sortBy": "STOCK",
                                         "sortOrder": "ASC"})  # fmt: skip
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_products_filter_by_category_status_and_low_stock(
    tenant: Tenant, shelf: list[dict[str, Any]]
) -> None:
    by_name = sorted(shelf, key=lambda p: (p["name"], int(p["id"])))
    odd = [p["id"] for p in by_name if shelf.index(p) % 2]
    assert await listed(tenant, 3, category="Odd") == odd
    await update(tenant, odd[0], status="INACTIVE")
    assert await listed(tenant, 3, status="INACTIVE") == [odd[0]]
    assert len(await listed(tenant, 3, status="ACTIVE")) == 8
    await tenant.data(SETTINGS, {"input": {"lowStockDefault": 10}})
    empty = [p["id"] for p in by_name if p["stock"] == 0]
    assert await listed(tenant, 2, lowStock=True) == empty
    assert await listed(tenant, 2, lowStock=False) == [
        p["id"] for p in by_name if p["id"] not in empty
    ]
    await update(tenant, empty[0], minStock=0)
    assert await listed(tenant, 2, lowStock=True, category="Even") == [
        pid for pid in empty[1:] if pid not in odd
    ]


async def test_low_stock_lists_lowest_ratio_first_with_the_store_default(tenant: Tenant) -> None:
    await tenant.data(SETTINGS, {"input": {"lowStockDefault": 4}})
    half = await created(tenant, stock=5, minStock=10)  # 0.5
    quarter = await created(tenant, stock=1)  # 1 / 4 (store default)
    third = [await created(tenant, stock=1, minStock=3) for _ in range(3)]  # 1/3, tied
    await created(tenant, stock=10, minStock=10)  # not below
    await created(tenant, stock=3, minStock=0)  # never low
    discontinued = await created(tenant, stock=0, status="DISCONTINUED")
    archived = await created(tenant, stock=0)
    await tenant.data(ARCHIVE, {"id": archived["id"]})
    empty = await created(tenant, stock=0, status="INACTIVE")  # 0: lowest
    assert discontinued["minStock"] is None
    for first in (1, 2, 10):
        nodes = await pages(tenant, LOW_STOCK, "lowStockProducts", first)
        assert [(n["product"]["id"], n["minimum"]) for n in nodes] == [
            (empty["id"], 4), (quarter["id"], 4), *((p["id"], 3) for p in third),
            (half["id"], 10),
        ]  # fmt: skip
    board = (await tenant.data(BOARD, role=Role.VIEWER))["dashboard"]
    assert board["inventory"]["lowStockCount"] == len(nodes) == 6
    assert [(a["productId"], a["threshold"]) for a in board["alerts"]["lowStock"]] == [
        (n["product"]["id"], n["minimum"]) for n in nodes[:5]
    ]
    # Archived, discontinued and inactive products are not active.
    assert board["inventory"]["activeProducts"] == 7


async def test_expiring_products_come_soonest_first_in_the_stores_time_zone(
    tenant: Tenant,
) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its today is often UTC's tomorrow
    await tenant.data(SETTINGS, {"input": {"timeZone": zone}})
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    dates = {n: today + timedelta(days=n) for n in (-400, -1, 0, 7, 8)}
    made = {n: await created(tenant, expiryDate=day.isoformat()) for n, day in dates.items()}
    await created(tenant)  # no expiry date
    gone = await created(tenant, expiryDate=today.isoformat())
    await tenant.data(ARCHIVE, {"id": gone["id"]})
    for first in (1, 3):
        nodes = await pages(tenant, EXPIRING, "expiringProducts", first, within=7)
        assert [(n["product"]["id"], n["daysLeft"], n["expired"]) for n in nodes] == [
            (made[n]["id"], n, n < 0) for n in (-400, -1, 0, 7)
        ]
        assert nodes[0]["expiryDate"] == dates[-400].isoformat()
    board = (await tenant.data(BOARD, role=Role.VIEWER))["dashboard"]
    assert board["inventory"]["expiringCount"] == 4
    assert board["alerts"]["expiring"] == [
        {"productId": made[n]["id"], "expiryDate": dates[n].isoformat()} for n in (-400, -1, 0, 7)
    ]
    default = await tenant.data(
        "{ expiringProducts { edges { node { daysLeft } } } }", role=Role.VIEWER
    )
    assert [e["node"]["daysLeft"] for e in default["expiringProducts"]["edges"]] == [-400, -1, 0, 7]
    only_past = await pages(tenant, EXPIRING, "expiringProducts", 5, within=0)
    assert [n["daysLeft"] for n in only_past] == [-400, -1, 0]
    answer = await tenant.gql(EXPIRING, {"within": -1, "first": 5})
    assert answer["errors"][0]["extensions"]["argument"] == "withinDays"
    assert date.fromisoformat(nodes[0]["expiryDate"]) < today
