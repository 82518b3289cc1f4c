"""The catalogue: product fields, what is refused, finding products, sales of inactive ones."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product, row_counts
from tests.purchases import buy

pytestmark = pytest.mark.both_routes

DETAILS = (
    "id name sku price stock description category unit barcode costPrice minStock"
    " expiryDate status archivedAt updatedAt"
)

CREATE = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    __typename
    ... on ProductCreated {{ product {{ {DETAILS} }} }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""

UPDATE = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{
    __typename
    ... on ProductUpdated {{ product {{ {DETAILS} }} }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""

BY_BARCODE = f"query($barcode: String!) {{ productByBarcode(barcode: $barcode) {{ {DETAILS} }} }}"

ARCHIVE = """
mutation($id: ID!) { archiveProduct(input: {productId: $id}) { __typename } }
"""


def _sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:10]}"


async def create(tenant: Tenant, **fields: Any) -> Any:
    data = await tenant.data(
        CREATE, {"input": {"name": "Milk", "sku": _sku(), "price": "1.00", **fields}}
    )
    return data["createProduct"]


async def created(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    result = await create(tenant, **fields)
    assert result["__typename"] == "ProductCreated", result
    return result["product"]  # type: ignore[no-any-return]


async def update(tenant: Tenant, product_id: str, **fields: Any) -> Any:
    data = await tenant.data(UPDATE, {"input": {"productId": product_id, **fields}})
    return data["updateProduct"]


async def test_a_product_keeps_every_catalogue_field_and_defaults_to_active_pieces(
    tenant: Tenant,
) -> None:
    plain = await created(tenant)
    assert (plain["unit"], plain["status"], plain["barcode"], plain["minStock"]) == (
        "PCS", "ACTIVE", None, None,
    )  # fmt: skip
    full = await created(
        tenant, description="Full cream", category="Dairy", unit="L", barcode="8901234567890",
        costPrice="0.75", minStock=12, expiryDate="2030-02-28", status="INACTIVE", taxRate="5",
    )  # fmt: skip
    assert {k: full[k] for k in ("description", "category", "unit", "barcode", "costPrice",
                                 "minStock", "expiryDate", "status")} == {
        "description": "Full cream", "category": "Dairy", "unit": "L",
        "barcode": "8901234567890", "costPrice": "0.75", "minStock": 12,
        "expiryDate": "2030-02-28", "status": "INACTIVE",
    }  # fmt: skip
    changed = await update(
        tenant, full["id"], unit="KG", status="DISCONTINUED", minStock=None, barcode=None,
        category="Cheese",
    )  # fmt: skip
    product = changed["product"]
    assert (product["unit"], product["status"], product["minStock"], product["barcode"]) == (
        "KG", "DISCONTINUED", None, None,
    )  # fmt: skip
    assert (product["category"], product["description"]) == ("Cheese", "Full cream")
    assert product["updatedAt"] > full["updatedAt"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"barcode": "9" * 65}, "barcode"),
        ({"barcode": "890\t123"}, "barcode"),
        ({"barcode": "890\x07123"}, "barcode"),
        ({"unit": "GALLON"}, "unit"),
        ({"status": "SOLD_OUT"}, "status"),
        ({"costPrice": "-0.01"}, "costPrice"),
        ({"minStock": -1}, "minStock"),
        ({"expiryDate": "1999-12-31"}, "expiryDate"),
    ],
)
async def test_bad_catalogue_input_is_refused_naming_the_field(
    tenant: Tenant, owner_db: AsyncEngine, fields: dict[str, Any], field: str
) -> None:
    before = await row_counts(owner_db, tenant.id)
    result = await create(tenant, **fields)
    assert result["__typename"] == "InvalidInput", result
    assert [problem["field"] for problem in result["fields"]] == [field]
    product = await created(tenant)
    changed = await update(tenant, product["id"], **fields)
    assert changed["__typename"] == "InvalidInput", changed
    assert [problem["field"] for problem in changed["fields"]] == [field]
    assert (await row_counts(owner_db, tenant.id))["products"] == before["products"] + 1


async def test_a_barcode_is_unique_within_a_business_only(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    first = await created(tenant, barcode="4006381333931")
    again = await create(tenant, barcode="4006381333931")
    assert again["__typename"] == "InvalidInput"
    assert again["fields"][0]["field"] == "barcode"
    second = await created(tenant, barcode="4006381333932")
    taken = await update(tenant, second["id"], barcode="4006381333931")
    assert taken["fields"][0]["field"] == "barcode"
    assert (await update(tenant, first["id"], barcode="4006381333931"))["__typename"] == (
        "ProductUpdated"
    )
    assert (await created(other_tenant, barcode="4006381333931"))["barcode"] == "4006381333931"


async def test_a_product_is_found_by_its_barcode_archived_or_not_but_not_another_tenants(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    product = await created(tenant, barcode="5012345678900")
    await created(other_tenant, barcode="5099999999999")
    found = await tenant.data(BY_BARCODE, {"barcode": "5012345678900"}, role=Role.VIEWER)
    assert found["productByBarcode"]["id"] == product["id"]
    await tenant.data(ARCHIVE, {"id": product["id"]})
    archived = await tenant.data(BY_BARCODE, {"barcode": "5012345678900"})
    assert archived["productByBarcode"]["archivedAt"] is not None
    for missing in ("5099999999999", "501234567890", "x" * 10_000, "50\x00"):
        assert (await tenant.data(BY_BARCODE, {"barcode": missing}))["productByBarcode"] is None


async def test_only_active_products_can_be_sold(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await make_customer(tenant)
    active = await make_product(tenant, stock=10)
    paused = await make_product(tenant, stock=10)
    gone = await make_product(tenant, stock=10)
    await update(tenant, paused, status="INACTIVE")
    await update(tenant, gone, status="DISCONTINUED")
    before = await row_counts(owner_db, tenant.id)
    refused = await buy(tenant, customer, [(active, 1), (gone, 1), (paused, 1)])
    assert refused["__typename"] == "ProductNotActive"
    assert (refused["productId"], refused["status"]) == (paused, "INACTIVE")
    assert "only active products can be sold" in refused["message"]
    alone = await buy(tenant, customer, [(gone, 1)])
    assert (alone["productId"], alone["status"]) == (gone, "DISCONTINUED")
    assert await row_counts(owner_db, tenant.id) == before
    await update(tenant, paused, status="ACTIVE")
    assert (await buy(tenant, customer, [(paused, 1)]))["__typename"] == "PurchaseCompleted"


CATEGORIES = "{ categories { name productCount } }"


async def test_categories_count_listed_products_by_name(tenant: Tenant) -> None:
    for category in ("Dairy", "Bakery", "Dairy", None):
        await created(tenant, category=category)
    archived = await created(tenant, category="Frozen")
    await tenant.data(ARCHIVE, {"id": archived["id"]})
    answer = await tenant.data(CATEGORIES, role=Role.VIEWER)
    assert answer["categories"] == [
        {"name": "Bakery", "productCount": 1},
        {"name": "Dairy", "productCount": 2},
    ]


async def test_a_search_is_taken_literally_at_any_length(tenant: Tenant) -> None:
    odd = await created(tenant, name="50% off_sale \\ back")
    await created(tenant, name="500 offXsale")
    query = "query($s: String) { products(search: $s) { edges { node { id } } } }"
    for search in ("0% ", "f_s", "\\ b", "% OFF_"):
        nodes = (await tenant.data(query, {"s": search}))["products"]["edges"]
        assert [edge["node"]["id"] for edge in nodes] == [odd["id"]], search
    started = time.monotonic()
    for search in ("%" * 10_000, "a" * 10_000, "_\\" * 5_000):
        assert (await tenant.data(query, {"s": search}))["products"]["edges"] == []
        customers = "query($s: String) { customers(search: $s) { edges { node { id } } } }"
        assert (await tenant.data(customers, {"s": search}))["customers"]["edges"] == []
    assert time.monotonic() - started < 5


async def test_search_matches_name_sku_or_barcode_whatever_the_case(tenant: Tenant) -> None:
    rice = await created(tenant, name="Basmati Rice", sku="GRN-0042", barcode="8906001234567")
    await created(tenant, name="Sugar", sku="SWT-0001")
    query = "query($s: String) { products(search: $s) { edges { node { id } } } }"
    for search in ("basMATI", "grn-00", "0012345", "ri", "8"):
        nodes = (await tenant.data(query, {"s": search}))["products"]["edges"]
        assert [edge["node"]["id"] for edge in nodes] == [rice["id"]], search
