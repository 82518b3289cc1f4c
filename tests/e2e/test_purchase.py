"""``purchase`` over HTTP: every member of its result union, replays and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.purchases import buy, customer_state, new_key, purchase_input, stock_of, written


async def test_a_purchase_writes_the_order_items_stock_movements_and_charge(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, credit_limit="1000.00")
    rice = await make_product(tenant, name="Rice", price="12.50", stock=10)
    dal = await make_product(tenant, name="Dal", price="3.25", stock=5)

    result = await buy(tenant, customer, [(rice, 2), (dal, 4)], note="deliver Friday")

    assert result["__typename"] == "PurchaseCompleted", result
    order = result["order"]
    assert order["total"] == "38.00"
    assert order["note"] == "deliver Friday"
    assert order["number"].startswith("BILL-")
    assert order["createdAt"].endswith("Z")
    assert order["customer"]["id"] == customer
    items = [
        (i["productName"], i["quantity"], i["unitPrice"], i["lineTotal"]) for i in order["items"]
    ]
    assert items == [("Rice", 2, "12.50", "25.00"), ("Dal", 4, "3.25", "13.00")]
    assert [i["product"]["stock"] for i in order["items"]] == [8, 1]
    assert result["customer"] == {
        "id": customer, "balance": "38.00", "creditLimit": "1000.00", "availableCredit": "962.00",
    }  # fmt: skip
    assert await written(owner_db, tenant.id) == {
        "orders": 1, "items": 2, "sales": 2, "charges": 1, "payments": 0, "payment_entries": 0,
        "keys": 1,
    }  # fmt: skip
    assert await customer_state(tenant, customer) == result["customer"]


async def test_bill_numbers_are_consecutive_from_one_each_year(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    numbers = [(await buy(tenant, customer, [(product, 1)]))["order"]["number"] for _ in range(3)]
    year = datetime.now(UTC).year  # the store's time zone is UTC by default
    assert numbers == [f"BILL-{year}-00000{n}" for n in (1, 2, 3)]


async def test_prices_come_from_the_database_and_are_kept_on_the_order(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, name="Tea", price="4.00")
    first = await buy(tenant, customer, [(product, 1)])
    await tenant.data(
        "mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }",
        {"input": {"productId": product, "name": "Green tea", "price": "5.00"}},
    )
    second = await buy(tenant, customer, [(product, 1)])
    assert second["order"]["total"] == "5.00"
    assert second["order"]["items"][0]["productName"] == "Green tea"

    again = await tenant.data(
        "query($id: ID!) { order(id: $id) { total items { productName unitPrice } } }",
        {"id": first["order"]["id"]},
    )
    assert again["order"] == {
        "total": "4.00",
        "items": [{"productName": "Tea", "unitPrice": "4.00"}],
    }


async def test_lines_for_the_same_product_are_merged(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await make_customer(tenant)
    a = await make_product(tenant, price="1.00", stock=10)
    b = await make_product(tenant, price="2.00", stock=10)
    result = await buy(tenant, customer, [(b, 1), (a, 2), (b, 3), (a, 1)])
    assert result["__typename"] == "PurchaseCompleted"
    assert [(i["product"]["id"], i["quantity"]) for i in result["order"]["items"]] == [
        (a, 3),
        (b, 4),
    ]
    assert result["order"]["total"] == "11.00"
    assert await stock_of(owner_db, a) == 7
    assert await stock_of(owner_db, b) == 6


async def test_insufficient_stock_names_every_short_line_and_writes_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    a = await make_product(tenant, stock=1)
    b = await make_product(tenant, stock=5)
    c = await make_product(tenant, stock=0)
    result = await buy(tenant, customer, [(a, 2), (b, 5), (c, 1)])
    assert result["__typename"] == "InsufficientStock"
    assert result["lines"] == [
        {"productId": a, "requested": 2, "available": 1},
        {"productId": c, "requested": 1, "available": 0},
    ]
    assert "2 products" in result["message"]
    assert (await written(owner_db, tenant.id))["orders"] == 0
    assert [await stock_of(owner_db, p) for p in (a, b, c)] == [1, 5, 0]


async def test_credit_limit_exceeded_reports_the_numbers_and_writes_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, credit_limit="50.00")
    product = await make_product(tenant, price="20.00", stock=10)
    assert (await buy(tenant, customer, [(product, 2)]))["__typename"] == "PurchaseCompleted"

    result = await buy(tenant, customer, [(product, 1)])
    assert result == {
        "__typename": "CreditLimitExceeded",
        "message": result["message"],
        "creditLimit": "50.00",
        "balance": "40.00",
        "orderTotal": "20.00",
        "availableCredit": "10.00",
    }
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["keys"]) == (1, 1, 1)
    assert await stock_of(owner_db, product) == 8


async def test_an_order_that_exactly_reaches_the_limit_is_accepted(tenant: Tenant) -> None:
    customer = await make_customer(tenant, credit_limit="30.00")
    product = await make_product(tenant, price="10.00")
    result = await buy(tenant, customer, [(product, 3)])
    assert result["__typename"] == "PurchaseCompleted"
    assert result["customer"]["availableCredit"] == "0.00"


async def test_price_changed_when_the_expected_total_differs(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="7.50")
    result = await buy(tenant, customer, [(product, 2)], expected_total="14.00")
    assert result["__typename"] == "PriceChanged"
    assert (result["expectedTotal"], result["actualTotal"]) == ("14.00", "15.00")
    assert (await written(owner_db, tenant.id))["orders"] == 0

    accepted = await buy(tenant, customer, [(product, 2)], expected_total="15.00")
    assert accepted["__typename"] == "PurchaseCompleted"


async def test_unknown_customer_or_product_is_not_found(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    foreign_customer = await make_customer(other_tenant)
    foreign_product = await make_product(other_tenant)

    for customer_id, product_id, missing in [
        ("999999999", product, "999999999"),
        (foreign_customer, product, foreign_customer),
        (customer, "999999999", "999999999"),
        (customer, foreign_product, foreign_product),
    ]:
        result = await buy(tenant, customer_id, [(product_id, 1)])
        assert result["__typename"] == "NotFound", result
        assert result["id"] == missing
    assert (await written(owner_db, tenant.id))["orders"] == 0
    assert (await written(owner_db, other_tenant.id))["orders"] == 0


async def test_invalid_input_names_each_field(tenant: Tenant) -> None:
    result = await buy(tenant, "abc", [("1", 0), ("x", 2)], key=" ", note="n" * 501)
    assert result["__typename"] == "InvalidInput"
    assert {f["field"] for f in result["fields"]} == {
        "customerId", "items[0].quantity", "items[1].productId", "note", "idempotencyKey",
    }  # fmt: skip

    empty = await buy(tenant, "1", [])
    assert [f["field"] for f in empty["fields"]] == ["items"]
    too_many = await buy(tenant, "1", [(str(i), 1) for i in range(1, 102)])
    assert [f["field"] for f in too_many["fields"]] == ["items"]
    money = await buy(tenant, "1", [("1", 1)], expected_total="1.001")
    assert [f["field"] for f in money["fields"]] == ["expectedTotal"]


async def test_a_replay_returns_the_original_order_and_writes_nothing_more(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="3.00", stock=10)
    key = new_key()
    first = await buy(tenant, customer, [(product, 2)], key=key)
    # Prices and balance move on; the replay still answers what happened then.
    await buy(tenant, customer, [(product, 1)])
    replay = await buy(tenant, customer, [(product, 1), (product, 1)], key=key)

    assert replay["order"]["id"] == first["order"]["id"]
    assert replay["order"]["number"] == first["order"]["number"]
    assert replay["customer"]["balance"] == first["customer"]["balance"] == "6.00"
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["keys"]) == (2, 2, 2)
    assert await stock_of(owner_db, product) == 7


async def test_the_same_key_for_a_different_request_is_refused(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    key = new_key()
    await buy(tenant, customer, [(product, 1)], key=key)
    for changed in (
        {"items": [(product, 2)]},
        {"items": [(product, 1)], "note": "different"},
        {"items": [(product, 1)], "expected_total": "10.00"},
    ):
        items = changed.pop("items")
        result = await buy(tenant, customer, items, key=key, **changed)  # type: ignore[arg-type]
        assert result["__typename"] == "IdempotencyKeyReused", changed
        assert result["idempotencyKey"] == key


async def test_a_refusal_is_not_remembered_so_the_key_works_once_the_cause_is_fixed(
    tenant: Tenant,
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=0)
    key = new_key()
    assert (await buy(tenant, customer, [(product, 1)], key=key))["__typename"] == (
        "InsufficientStock"
    )
    await tenant.data(
        "mutation($input: RestockProductInput!) { restockProduct(input: $input) { __typename } }",
        {"input": {"productId": product, "quantity": 1, "idempotencyKey": new_key()}},
    )
    assert (await buy(tenant, customer, [(product, 1)], key=key))["__typename"] == (
        "PurchaseCompleted"
    )


async def test_keys_belong_to_one_business(tenant: Tenant, other_tenant: Tenant) -> None:
    key = new_key()
    for business in (tenant, other_tenant):
        customer = await make_customer(business)
        product = await make_product(business)
        result = await buy(business, customer, [(product, 1)], key=key)
        assert result["__typename"] == "PurchaseCompleted"


async def test_free_items_make_an_order_without_a_charge(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, credit_limit="0.00")
    sample = await make_product(tenant, price="0.00", stock=3)
    result = await buy(tenant, customer, [(sample, 1)])
    assert result["__typename"] == "PurchaseCompleted"
    assert result["order"]["total"] == "0.00"
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["sales"]) == (1, 0, 1)


async def test_a_viewer_may_not_purchase(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    answer = await tenant.gql(
        "mutation($input: PurchaseInput!) { purchase(input: $input) { __typename } }",
        purchase_input(customer, [(product, 1)]),
        role=Role.VIEWER,
    )
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await written(owner_db, tenant.id))["orders"] == 0
