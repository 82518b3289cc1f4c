"""Bad input is answered with ``InvalidInput`` naming the field, or ``NotFound``; never a crash.

Every case also checks that nothing was written: the business's row counts in
every tenant table and its existing customer and products read the same after.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import APP_ROLE
from app.domain.identity import Role
from app.services.catalog import MAX_STOCK
from tests.conftest import Tenant, new_tenant
from tests.helpers import (
    CREATE_CUSTOMER,
    CREATE_PRODUCT,
    CUSTOMER,
    PRODUCT,
    RESTOCK_PRODUCT,
    UPDATE_CUSTOMER,
    UPDATE_PRODUCT,
    error_codes,
    make_customer,
    make_product,
    row_counts,
)

OPERATIONS = {
    "createCustomer": CREATE_CUSTOMER,
    "updateCustomer": UPDATE_CUSTOMER,
    "createProduct": CREATE_PRODUCT,
    "updateProduct": UPDATE_PRODUCT,
    "restockProduct": RESTOCK_PRODUCT,
}
NOT_FOUND = "NotFound"
MALFORMED_IDS = ("abc", "-1", "0", "99999999999999999999", "", "1.5", " 7")
UNKNOWN_ID = "9000000000000000000"


@dataclass(frozen=True)
class Shop:
    """What a bad request could damage: one customer and two products."""

    tenant: Tenant
    customer: str
    product: str
    other_product: str
    other_sku: str


@pytest.fixture(scope="module")
async def shop(owner_db: AsyncEngine, http: httpx.AsyncClient) -> Shop:
    """Shared by the cases of this module: each checks that it changed nothing."""
    tenant = await new_tenant(owner_db, http)
    customer = await make_customer(tenant, credit_limit="500.00")
    product = await make_product(tenant, stock=10)
    other_product = await make_product(tenant, name="Dal")
    answer = await tenant.data(PRODUCT, {"id": other_product})
    return Shop(tenant, customer, product, other_product, answer["product"]["sku"])


async def snapshot(owner_db: AsyncEngine, tenant: Tenant, shop: Shop) -> dict[str, Any]:
    return {
        "rows": await row_counts(owner_db, tenant.id),
        "customer": await tenant.data(CUSTOMER, {"id": shop.customer}),
        "product": await tenant.data(PRODUCT, {"id": shop.product}),
        "other_product": await tenant.data(PRODUCT, {"id": shop.other_product}),
    }


@dataclass(frozen=True)
class Bad:
    """One bad request: the mutation, its input, and the field it must name (or NotFound)."""

    description: str
    operation: str
    input: Callable[[Shop], dict[str, Any]]
    expect: str


def restock(shop: Shop, **changes: Any) -> dict[str, Any]:
    return {"productId": shop.product, "quantity": 5,
            "idempotencyKey": uuid.uuid4().hex, **changes}  # fmt: skip


def new_customer(**changes: Any) -> Callable[[Shop], dict[str, Any]]:
    return lambda _: {"name": "Ravi", **changes}


def new_product(**changes: Any) -> Callable[[Shop], dict[str, Any]]:
    return lambda _: {"name": "Oil", "sku": f"OIL-{uuid.uuid4().hex[:8]}", "price": "5.00",
                      **changes}  # fmt: skip


TOO_MANY_DIGITS = "1.00000000000000000000000000001"  # 1.00 if anything rounded it
HUGE = "100000000000000000000"

CASES = [
    # restockProduct
    Bad("zero quantity", "restockProduct", lambda s: restock(s, quantity=0), "quantity"),
    Bad("negative quantity", "restockProduct", lambda s: restock(s, quantity=-3), "quantity"),
    Bad("stock beyond what Product.stock can show", "restockProduct",
        lambda s: restock(s, quantity=2**31 - 1), "quantity"),
    Bad("empty idempotency key", "restockProduct",
        lambda s: restock(s, idempotencyKey=""), "idempotencyKey"),
    Bad("blank idempotency key", "restockProduct",
        lambda s: restock(s, idempotencyKey="   "), "idempotencyKey"),
    Bad("over-long idempotency key", "restockProduct",
        lambda s: restock(s, idempotencyKey="k" * 201), "idempotencyKey"),
    Bad("over-long note", "restockProduct", lambda s: restock(s, note="n" * 501), "note"),
    Bad("note with a NUL character", "restockProduct", lambda s: restock(s, note="a\x00"),
        "note"),
    Bad("idempotency key with a NUL character", "restockProduct",
        lambda s: restock(s, idempotencyKey="k\x00"), "idempotencyKey"),
    Bad("unknown product", "restockProduct", lambda s: restock(s, productId=UNKNOWN_ID),
        NOT_FOUND),
    *(Bad(f"malformed product id {raw!r}", "restockProduct",
          lambda s, raw=raw: restock(s, productId=raw), "productId") for raw in MALFORMED_IDS),
    # createCustomer
    Bad("empty name", "createCustomer", new_customer(name=""), "name"),
    Bad("whitespace name", "createCustomer", new_customer(name=" \t\n "), "name"),
    Bad("over-long name", "createCustomer", new_customer(name="n" * 201), "name"),
    Bad("name with a NUL character", "createCustomer", new_customer(name="A\x00B"), "name"),
    Bad("phone with a NUL character", "createCustomer", new_customer(phone="12\x0034"), "phone"),
    Bad("email with a NUL character", "createCustomer", new_customer(email="a@b\x00"), "email"),
    Bad("over-long phone", "createCustomer", new_customer(phone="1" * 41), "phone"),
    Bad("email without @", "createCustomer", new_customer(email="ravi.example.com"), "email"),
    Bad("email without a local part", "createCustomer", new_customer(email="@example.com"),
        "email"),
    Bad("email without a domain", "createCustomer", new_customer(email="ravi@"), "email"),
    Bad("over-long email", "createCustomer", new_customer(email="r@" + "e" * 253), "email"),
    Bad("negative credit limit", "createCustomer", new_customer(creditLimit="-1.00"),
        "creditLimit"),
    Bad("credit limit with three decimals", "createCustomer",
        new_customer(creditLimit="1.005"), "creditLimit"),
    Bad("credit limit with thirty decimals", "createCustomer",
        new_customer(creditLimit=TOO_MANY_DIGITS), "creditLimit"),
    Bad("huge credit limit", "createCustomer", new_customer(creditLimit=HUGE), "creditLimit"),
    Bad("negative payment terms", "createCustomer", new_customer(paymentTermsDays=-1),
        "paymentTermsDays"),
    Bad("payment terms over ten years", "createCustomer", new_customer(paymentTermsDays=3651),
        "paymentTermsDays"),
    # updateCustomer
    Bad("unknown customer", "updateCustomer", lambda _: {"customerId": UNKNOWN_ID, "name": "X"},
        NOT_FOUND),
    *(Bad(f"malformed customer id {raw!r}", "updateCustomer",
          lambda _, raw=raw: {"customerId": raw, "name": "X"}, "customerId")
      for raw in MALFORMED_IDS),
    Bad("null name", "updateCustomer", lambda s: {"customerId": s.customer, "name": None},
        "name"),
    Bad("whitespace name on update", "updateCustomer",
        lambda s: {"customerId": s.customer, "name": "   "}, "name"),
    Bad("null credit limit", "updateCustomer",
        lambda s: {"customerId": s.customer, "creditLimit": None}, "creditLimit"),
    Bad("negative credit limit on update", "updateCustomer",
        lambda s: {"customerId": s.customer, "creditLimit": "-0.01"}, "creditLimit"),
    Bad("bad email on update", "updateCustomer",
        lambda s: {"customerId": s.customer, "email": "nobody"}, "email"),
    Bad("payment terms out of range on update", "updateCustomer",
        lambda s: {"customerId": s.customer, "paymentTermsDays": 5000}, "paymentTermsDays"),
    # createProduct
    Bad("empty product name", "createProduct", new_product(name=""), "name"),
    Bad("whitespace product name", "createProduct", new_product(name="  "), "name"),
    Bad("over-long product name", "createProduct", new_product(name="p" * 201), "name"),
    Bad("empty sku", "createProduct", new_product(sku=""), "sku"),
    Bad("over-long sku", "createProduct", new_product(sku="S" * 65), "sku"),
    Bad("sku with a NUL character", "createProduct", new_product(sku="S\x00"), "sku"),
    Bad("duplicate sku", "createProduct", lambda s: new_product(sku=s.other_sku)(s), "sku"),
    Bad("duplicate sku with spaces around it", "createProduct",
        lambda s: new_product(sku=f"  {s.other_sku} ")(s), "sku"),
    Bad("negative price", "createProduct", new_product(price="-5.00"), "price"),
    Bad("price with three decimals", "createProduct", new_product(price="1.005"), "price"),
    Bad("price with thirty decimals", "createProduct", new_product(price=TOO_MANY_DIGITS),
        "price"),
    Bad("huge price", "createProduct", new_product(price=HUGE), "price"),
    Bad("negative opening stock", "createProduct", new_product(stock=-1), "stock"),
    # updateProduct
    Bad("unknown product on update", "updateProduct",
        lambda _: {"productId": UNKNOWN_ID, "name": "X"}, NOT_FOUND),
    *(Bad(f"malformed product id {raw!r} on update", "updateProduct",
          lambda _, raw=raw: {"productId": raw, "name": "X"}, "productId")
      for raw in MALFORMED_IDS),
    Bad("blank product name on update", "updateProduct",
        lambda s: {"productId": s.product, "name": " "}, "name"),
    Bad("null price", "updateProduct", lambda s: {"productId": s.product, "price": None},
        "price"),
    Bad("negative price on update", "updateProduct",
        lambda s: {"productId": s.product, "price": "-0.01"}, "price"),
    Bad("another product's sku", "updateProduct",
        lambda s: {"productId": s.product, "sku": s.other_sku}, "sku"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.description for case in CASES])
async def test_bad_input_names_the_field_and_writes_nothing(
    owner_db: AsyncEngine, shop: Shop, case: Bad
) -> None:
    tenant = shop.tenant
    before = await snapshot(owner_db, tenant, shop)
    data = await tenant.data(OPERATIONS[case.operation], {"input": case.input(shop)})
    result = data[case.operation]
    if case.expect == NOT_FOUND:
        assert result["__typename"] == NOT_FOUND, result
    else:
        assert result["__typename"] == "InvalidInput", result
        assert case.expect in [problem["field"] for problem in result["fields"]], result
    assert await snapshot(owner_db, tenant, shop) == before


async def test_every_problem_is_reported_at_once(tenant: Tenant) -> None:
    data = await tenant.data(
        CREATE_CUSTOMER,
        {"input": {"name": " ", "email": "x", "creditLimit": "-1", "paymentTermsDays": -2}},
    )
    result = data["createCustomer"]
    assert result["__typename"] == "InvalidInput"
    assert [problem["field"] for problem in result["fields"]] == [
        "name", "email", "creditLimit", "paymentTermsDays",
    ]  # fmt: skip
    assert result["message"].startswith("name: ")


async def test_a_name_with_an_unpaired_surrogate_is_invalid_input(
    owner_db: AsyncEngine, tenant: Tenant
) -> None:
    # JSON can escape a lone surrogate; httpx will not encode one, so send the bytes.
    body = json.dumps({"query": CREATE_CUSTOMER, "variables": {"input": {"name": "A\ud800"}}})
    before = await row_counts(owner_db, tenant.id)
    response = await tenant.http.post(
        "/graphql",
        content=body.encode("ascii"),
        headers={"Authorization": f"Bearer {tenant.keys[Role.OWNER]}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    result = response.json()["data"]["createCustomer"]
    assert result["__typename"] == "InvalidInput", result
    assert result["fields"][0]["field"] == "name"
    assert await row_counts(owner_db, tenant.id) == before


@pytest.mark.parametrize("raw", [*MALFORMED_IDS, UNKNOWN_ID])
async def test_a_lookup_by_a_malformed_or_unknown_id_answers_null(shop: Shop, raw: str) -> None:
    tenant = shop.tenant
    assert await tenant.data(CUSTOMER, {"id": raw}) == {"customer": None}
    assert await tenant.data(PRODUCT, {"id": raw}) == {"product": None}


async def test_a_jpy_business_refuses_fractions_of_a_yen(
    owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    yen = await new_tenant(owner_db, http, currency="JPY")
    before = await row_counts(owner_db, yen.id)
    product = await yen.data(
        CREATE_PRODUCT, {"input": {"name": "Tea", "sku": "TEA", "price": "1.5"}}
    )
    customer = await yen.data(CREATE_CUSTOMER, {"input": {"name": "Ken", "creditLimit": "0.5"}})
    assert product["createProduct"]["fields"][0]["field"] == "price"
    assert customer["createCustomer"]["fields"][0]["field"] == "creditLimit"
    assert await row_counts(owner_db, yen.id) == before

    whole = await yen.data(
        CREATE_PRODUCT, {"input": {"name": "Tea", "sku": "TEA", "price": "1500"}}
    )
    assert whole["createProduct"]["product"]["price"] == "1500"


@pytest.mark.parametrize(
    ("description", "variables"),
    [
        ("money as a JSON float", {"name": "Oil", "sku": "OIL-F", "price": 5.5}),
        ("money as a JSON integer", {"name": "Oil", "sku": "OIL-I", "price": 5}),
        ("money in exponent notation", {"name": "Oil", "sku": "OIL-E", "price": "1e3"}),
        ("money with a thousands separator", {"name": "Oil", "sku": "OIL-T", "price": "1,000"}),
        (
            "stock beyond a 32-bit Int",
            {"name": "Oil", "sku": "OIL-S", "price": "1", "stock": 2**31},
        ),
        ("stock as a string", {"name": "Oil", "sku": "OIL-Q", "price": "1", "stock": "5"}),
        ("a missing required field", {"name": "Oil", "price": "1"}),
    ],
)
async def test_values_graphql_cannot_carry_get_a_graphql_error_not_a_crash(
    owner_db: AsyncEngine, tenant: Tenant, description: str, variables: dict[str, Any]
) -> None:
    before = await row_counts(owner_db, tenant.id)
    answer = await tenant.gql(CREATE_PRODUCT, {"input": variables}, role=Role.OWNER)
    assert answer.get("data") is None, description
    assert answer["errors"], description
    assert "INTERNAL_SERVER_ERROR" not in error_codes(answer), answer
    assert await row_counts(owner_db, tenant.id) == before


async def test_money_sent_as_a_number_is_refused_with_a_message_saying_so(tenant: Tenant) -> None:
    answer = await tenant.gql(
        CREATE_CUSTOMER, {"input": {"name": "Ravi", "creditLimit": 100.5}}, role=Role.OWNER
    )
    assert answer.get("data") is None
    assert "decimal string" in answer["errors"][0]["message"]


async def test_a_duplicate_sku_that_races_in_is_still_invalid_input(
    owner_db: AsyncEngine, app_db: AsyncEngine, tenant: Tenant
) -> None:
    """Another transaction takes the SKU after our check but before our update commits."""
    taken, ours = await make_product(tenant), await make_product(tenant)
    original = (await tenant.data(PRODUCT, {"id": ours}))["product"]
    async with app_db.connect() as holder:
        await holder.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(tenant.id)}
        )
        await holder.execute(text("UPDATE products SET sku = 'RACED' WHERE id = :id"),
                             {"id": int(taken)})  # fmt: skip
        request = asyncio.create_task(
            tenant.gql(UPDATE_PRODUCT, {"input": {"productId": ours, "sku": "RACED"}})
        )
        await _until_a_service_connection_waits_for_a_lock(owner_db)
        await holder.commit()
    answer = await request
    assert "errors" not in answer, answer
    result = answer["data"]["updateProduct"]
    assert result["__typename"] == "InvalidInput", result
    assert result["fields"][0]["field"] == "sku"
    assert (await tenant.data(PRODUCT, {"id": ours}))["product"] == original


async def _until_a_service_connection_waits_for_a_lock(owner_db: AsyncEngine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND usename = :role AND wait_event_type = 'Lock'"
    )
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        async with owner_db.connect() as connection:
            if (await connection.execute(waiting, {"role": APP_ROLE})).scalar_one():
                return
        await asyncio.sleep(0.005)
    raise AssertionError("the request never waited for the SKU's row lock")


async def test_stock_may_reach_the_largest_int_and_no_further(tenant: Tenant) -> None:
    product = await make_product(tenant, stock=10)

    async def restock(quantity: int) -> dict[str, Any]:
        variables = {"productId": product, "quantity": quantity, "idempotencyKey": str(quantity)}
        return (await tenant.data(RESTOCK_PRODUCT, {"input": variables}))["restockProduct"]

    assert (await restock(MAX_STOCK - 10))["product"]["stock"] == MAX_STOCK
    refused = await restock(1)
    assert refused["__typename"] == "InvalidInput"
    assert refused["fields"][0]["field"] == "quantity"
    assert (await tenant.data(PRODUCT, {"id": product}))["product"]["stock"] == MAX_STOCK
