"""Reading orders back: ``order(id)`` and ``Customer.orders`` as a cursor connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.config import Settings
from app.domain.identity import Role
from app.main import create_app
from tests.conftest import Tenant, post_graphql
from tests.helpers import make_customer, make_product
from tests.purchases import buy

ORDERS_PAGE = """
query($id: ID!, $first: Int!, $after: String) {
  customer(id: $id) {
    orders(first: $first, after: $after) {
      edges { cursor node { id number total customer { id name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def _page(tenant: Tenant, customer: str, first: int, after: str | None) -> dict[str, Any]:
    data = await tenant.data(ORDERS_PAGE, {"id": customer, "first": first, "after": after})
    return data["customer"]["orders"]  # type: ignore[no-any-return]


async def test_a_customers_orders_page_newest_first_without_gaps_or_repeats(
    tenant: Tenant,
) -> None:
    customer = await make_customer(tenant, name="Ravi")
    other = await make_customer(tenant)
    product = await make_product(tenant, price="1.00")
    placed = []
    for units in range(1, 8):
        placed.append((await buy(tenant, customer, [(product, units)]))["order"]["id"])
        await buy(tenant, other, [(product, 1)])

    seen, after, pages = [], None, 0
    while True:
        page = await _page(tenant, customer, 3, after)
        pages += 1
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert all(
            edge["node"]["customer"] == {"id": customer, "name": "Ravi"} for edge in page["edges"]
        )
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == placed[::-1]
    assert pages == 3


async def test_a_customer_without_orders_has_an_empty_page(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    page = await _page(tenant, customer, 5, None)
    assert page == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_bad_paging_arguments_get_a_clear_error(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    for first, after in ((0, None), (101, None), (5, "not-a-cursor"), (5, "b3JkZXI6eA==")):
        answer = await tenant.gql(ORDERS_PAGE, {"id": customer, "first": first, "after": after})
        error = answer["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", answer
        assert ("first" in error["message"]) == (after is None)


async def test_order_by_id_with_items_and_products(tenant: Tenant, other_tenant: Tenant) -> None:
    customer = await make_customer(tenant, name="Meena")
    a = await make_product(tenant, name="Soap", price="2.00")
    b = await make_product(tenant, name="Oil", price="9.99")
    placed = await buy(tenant, customer, [(a, 1), (b, 2)], note="gift")
    order_id = placed["order"]["id"]

    data = await tenant.data(
        """query($id: ID!) { order(id: $id) {
             id number total note createdAt customer { name balance }
             items { productName quantity unitPrice lineTotal product { id name } } } }""",
        {"id": order_id},
    )
    order = data["order"]
    assert order["number"] == placed["order"]["number"]
    assert order["createdAt"] == placed["order"]["createdAt"]
    assert (order["total"], order["note"]) == ("21.98", "gift")
    assert order["customer"] == {"name": "Meena", "balance": "21.98"}
    items = [
        (i["productName"], i["quantity"], i["lineTotal"], i["product"]["id"])
        for i in order["items"]
    ]
    assert items == [("Soap", 1, "2.00", a), ("Oil", 2, "19.98", b)]

    assert (await other_tenant.data("query($id: ID!) { order(id: $id) { id } }", {"id": order_id}))[
        "order"
    ] is None
    # Read by number, and the customer and a product by id, the other tenant sees none.
    number = (await tenant.data("query($id: ID!) { order(id: $id) { number } }", {"id": order_id}))[
        "order"
    ]["number"]
    assert number is not None
    seen = await other_tenant.data(
        "query($n: String!, $c: ID!, $p: ID!) { orderByNumber(number: $n) { id }"
        " customer(id: $c) { id } product(id: $p) { id } }",
        {"n": number, "c": customer, "p": a},
    )
    assert seen == {"orderByNumber": None, "customer": None, "product": None}
    assert (await tenant.data('query { order(id: "nope") { id } }'))["order"] is None


@pytest.fixture(scope="module")
async def counted(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """An app of its own whose SQL statements are recorded: the engine's and the
    driver pool's reads."""
    statements: list[str] = []
    app = create_app(Settings(database_url=database_url, auth_cache_seconds=60, pool_size=4))
    async with app.starlette.router.lifespan_context(app.starlette):
        engine = app.starlette.state.engine

        def record(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        pool = app.starlette.state.driver_pool
        read = pool.fetch

        async def fetch(sql: str, *args: Any) -> Any:
            statements.append(sql)
            return await read(sql, *args)

        pool.fetch = fetch
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, statements


NESTED = """
query($id: ID!) {
  customer(id: $id) {
    orders(first: 20) { edges { node { number customer { name }
      items { quantity product { name stock } } } } }
  }
}
"""


async def test_nested_order_reads_cost_the_same_statements_for_one_order_or_many(
    tenant: Tenant, counted: tuple[httpx.AsyncClient, list[str]]
) -> None:
    client, statements = counted
    products = [await make_product(tenant, price="1.00") for _ in range(4)]
    few, many = await make_customer(tenant), await make_customer(tenant)
    await buy(tenant, few, [(products[0], 1)])
    for n in range(6):
        await buy(tenant, many, [(products[n % 4], 1), (products[(n + 1) % 4], 2)])
    token = tenant.keys[Role.VIEWER]
    await post_graphql(client, "{ viewer { role } }", token=token)  # the key is now cached

    costs = []
    for customer in (few, many):
        statements.clear()
        answer = await post_graphql(client, NESTED, {"id": customer}, token=token)
        assert "errors" not in answer, answer
        costs.append(len(statements))
    orders = answer["data"]["customer"]["orders"]["edges"]
    assert len(orders) == 6
    assert all(len(edge["node"]["items"]) == 2 for edge in orders)
    # The customer, then one batch each for orders, items and products.  The customer,
    # the items and the products are one statement each on the driver pool; the
    # customer's page of orders is a unit of work, which binds the tenant first.
    assert costs == [5, 5]
