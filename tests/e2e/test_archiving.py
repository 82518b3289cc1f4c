"""Archiving customers and products: out of lists and sales, history kept."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.corrections import count_rows, set_archived
from tests.helpers import error_codes, make_customer, make_product
from tests.purchases import buy, pay

pytestmark = pytest.mark.both_routes

CUSTOMERS = """
query($all: Boolean!) {
  customers(first: 100, includeArchived: $all) { edges { node { id archivedAt } } }
}
"""
PRODUCTS = """
query($all: Boolean!) {
  products(first: 100, includeArchived: $all) { edges { node { id archivedAt } } }
}
"""
OVERDUE = """
query($asOf: DateTime!) {
  overdueCustomers(asOf: $asOf) { edges { node { customer { id archivedAt } balance } } }
}
"""


async def _listed(tenant: Tenant, query: str, *, everything: bool) -> list[str]:
    data = await tenant.data(query, {"all": everything})
    (connection,) = data.values()
    return [edge["node"]["id"] for edge in connection["edges"]]


async def test_an_archived_customer_leaves_the_list_keeps_history_and_cannot_buy(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    kept = await make_customer(tenant, name="Kept")
    gone = await make_customer(tenant, name="Gone")
    product = await make_product(tenant, stock=10)
    assert (await buy(tenant, gone, [(product, 2)]))["__typename"] == "PurchaseCompleted"

    archived = await set_archived(tenant, "customer", gone)
    assert archived["__typename"] == "CustomerArchived"
    assert archived["customer"]["archivedAt"].endswith("Z")
    assert archived["customer"]["balance"] == "20.00"
    again = await set_archived(tenant, "customer", gone)
    assert again["customer"]["archivedAt"] == archived["customer"]["archivedAt"]

    assert await _listed(tenant, CUSTOMERS, everything=False) == [kept]
    assert set(await _listed(tenant, CUSTOMERS, everything=True)) == {kept, gone}

    refused = await buy(tenant, gone, [(product, 1)])
    assert refused["__typename"] == "NotFound"
    assert refused["id"] == gone
    assert "archived" in refused["message"]
    assert await count_rows(owner_db, tenant.id, "orders") == 1

    # Someone archived still owes, and may still pay.
    paid = await pay(tenant, gone, "5.00")
    assert paid["__typename"] == "PaymentRecorded"

    restored = await set_archived(tenant, "customer", gone, archived=False)
    assert restored["__typename"] == "CustomerUnarchived"
    assert restored["customer"]["archivedAt"] is None
    assert (await buy(tenant, gone, [(product, 1)]))["__typename"] == "PurchaseCompleted"


async def test_an_archived_product_cannot_be_sold_and_leaves_the_list(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    on_sale = await make_product(tenant, name="Atta", stock=10)
    withdrawn = await make_product(tenant, name="Besan", stock=10)
    assert (await set_archived(tenant, "product", withdrawn))["__typename"] == "ProductArchived"

    assert await _listed(tenant, PRODUCTS, everything=False) == [on_sale]
    assert await _listed(tenant, PRODUCTS, everything=True) == [on_sale, withdrawn]

    refused = await buy(tenant, customer, [(on_sale, 1), (withdrawn, 1)])
    assert refused["__typename"] == "NotFound"
    assert refused["id"] == withdrawn
    assert refused["message"] == f"Product {withdrawn} is archived."
    assert await count_rows(owner_db, tenant.id, "orders") == 0

    await set_archived(tenant, "product", withdrawn, archived=False)
    assert (await buy(tenant, customer, [(withdrawn, 1)]))["__typename"] == "PurchaseCompleted"


async def test_an_archived_debtor_stays_in_the_overdue_list(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    await buy(tenant, customer, [(product, 3)])
    await set_archived(tenant, "customer", customer)

    data = await tenant.data(OVERDUE, {"asOf": "2999-01-01T00:00:00Z"})
    nodes = [edge["node"] for edge in data["overdueCustomers"]["edges"]]
    assert [(n["customer"]["id"], n["balance"]) for n in nodes] == [(customer, "30.00")]
    assert nodes[0]["customer"]["archivedAt"] is not None


async def test_archiving_an_unknown_row_is_not_found_and_viewers_may_not(tenant: Tenant) -> None:
    assert (await set_archived(tenant, "customer", "999999"))["__typename"] == "NotFound"
    assert (await set_archived(tenant, "product", "999999"))["__typename"] == "NotFound"
    assert (await set_archived(tenant, "product", "x"))["__typename"] == "InvalidInput"
    customer = await make_customer(tenant)
    answer = await tenant.gql(
        "mutation($id: ID!) { archiveCustomer(input: {customerId: $id}) { __typename } }",
        {"id": customer},
        role=Role.VIEWER,
    )
    assert error_codes(answer) == ["FORBIDDEN"]
