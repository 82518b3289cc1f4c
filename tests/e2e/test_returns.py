"""``returnItems``: a credit note of what was paid, the balance first, never more than sold."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.corrections import (
    RETURN_ITEMS,
    adjust_balance,
    count_rows,
    movements,
    order_state,
    return_items,
    sell,
    void_order,
)
from tests.helpers import error_codes, make_customer, make_product
from tests.purchases import buy, customer_state, new_key, stock_of

pytestmark = pytest.mark.both_routes


async def test_returns_credit_what_was_paid_and_all_of_them_add_up_to_the_total(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant, price="10.00", stock=20, taxRate="5")
    dal = await make_product(tenant, price="3.00", stock=20)
    sale = await sell(tenant, customer, [(rice, 4), (dal, 3)], discount="1.00",
                      line_discounts={rice: "2.00"})  # fmt: skip
    assert sale["__typename"] == "PurchaseCompleted", sale
    order, total = sale["order"]["id"], sale["order"]["total"]
    # rice: 40.00 - 2.00 - its share of the bill discount 0.81 = 37.19, tax 1.86: 39.05
    # dal: 9.00 - 0.19 = 8.81, no tax; total 47.86
    assert total == "47.86"

    first = await return_items(tenant, order, [(rice, 1)], reason="Torn bag")
    assert first["__typename"] == "ItemsReturned", first
    assert first["orderReturn"]["creditAmount"] == "9.76"  # 3905 * 1 // 4
    assert first["orderReturn"]["credited"] == "9.76"
    assert first["orderReturn"]["refunded"] == "0.00"
    assert first["orderReturn"]["reason"] == "Torn bag"
    assert first["order"]["status"] == "PARTIALLY_RETURNED"
    assert first["customer"]["balance"] == "38.10"
    assert await stock_of(owner_db, rice) == 17

    rest = await return_items(tenant, order, [(dal, 3), (rice, 3)])
    assert rest["orderReturn"]["items"] == [
        {"productId": rice, "quantity": 3, "amount": "29.29"},
        {"productId": dal, "quantity": 3, "amount": "8.81"},
    ]
    assert rest["order"]["status"] == "RETURNED"
    assert rest["customer"]["balance"] == "0.00"
    assert [r["creditAmount"] for r in rest["order"]["returns"]] == ["9.76", "38.10"]
    assert await movements(owner_db, tenant.id, "return") == [
        (int(rice), 1), (int(rice), 3), (int(dal), 3),
    ]  # fmt: skip
    assert await count_rows(owner_db, tenant.id, "credit_ledger", "kind = 'return'") == 2
    assert await verify_business(owner_db, tenant.id) == []


async def test_credit_beyond_the_balance_is_refunded_by_the_method_given(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=20)
    await buy(tenant, customer, [(product, 1)])  # owes 10.00 from another order
    cash = await sell(tenant, customer, [(product, 3)], paid=[("30.00", "CASH")])
    order = cash["order"]["id"]

    needs_method = await return_items(tenant, order, [(product, 2)])
    assert needs_method["__typename"] == "InvalidInput"
    assert needs_method["fields"][0]["field"] == "refundMethod"

    done = await return_items(tenant, order, [(product, 2)], refund_method="UPI")
    assert (done["orderReturn"]["credited"], done["orderReturn"]["refunded"]) == (
        "10.00", "10.00",
    )  # fmt: skip
    assert done["customer"]["balance"] == "0.00"
    assert done["order"]["refunds"] == [{"amount": "10.00", "method": "UPI"}]

    walk_in = await sell(tenant, None, [(product, 1)], paid=[("10.00", "CARD")])
    back = await return_items(tenant, walk_in["order"]["id"], [(product, 1)],
                              refund_method="CARD")  # fmt: skip
    assert back["orderReturn"]["refunded"] == "10.00"
    assert back["customer"] is None
    assert await verify_business(owner_db, tenant.id) == []


async def test_never_more_than_sold_and_bad_input_writes_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=20)
    other = await make_product(tenant, stock=20)
    order = (await buy(tenant, customer, [(product, 3)]))["order"]["id"]

    assert (await return_items(tenant, order, [(product, 2)]))["__typename"] == "ItemsReturned"
    over = await return_items(tenant, order, [(product, 2)])
    assert over == {"__typename": "ReturnExceedsSold", "message": over["message"],
                    "lines": [{"productId": product, "sold": 3, "alreadyReturned": 2,
                               "requested": 2}]}  # fmt: skip

    for items, field in (
        ([(other, 1)], "items[0].productId"),
        ([(product, 0)], "items[0].quantity"),
        ([(product, -1)], "items[0].quantity"),
        ([], "items"),
    ):
        bad = await return_items(tenant, order, items)
        assert bad["__typename"] == "InvalidInput", (items, bad)
        assert bad["fields"][0]["field"] == field
    long_reason = await return_items(tenant, order, [(product, 1)], reason="x" * 501)
    assert long_reason["fields"][0]["field"] == "reason"
    assert (await return_items(tenant, "999999", [(product, 1)]))["__typename"] == "NotFound"
    assert await count_rows(owner_db, tenant.id, "order_returns") == 1
    assert await stock_of(owner_db, product) == 19


async def test_a_voided_order_cannot_be_returned_nor_a_returned_one_voided(
    tenant: Tenant,
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=20)
    voided = (await buy(tenant, customer, [(product, 2)]))["order"]["id"]
    await void_order(tenant, voided)
    refused = await return_items(tenant, voided, [(product, 1)])
    assert refused["__typename"] == "InvalidInput"
    returned = (await buy(tenant, customer, [(product, 2)]))["order"]["id"]
    await return_items(tenant, returned, [(product, 1)])
    assert (await void_order(tenant, returned))["__typename"] == "InvalidInput"


async def test_a_retry_answers_the_same_return(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=20)
    order = (await buy(tenant, customer, [(product, 3)]))["order"]["id"]
    key = new_key()
    first = await return_items(tenant, order, [(product, 1)], key=key)
    assert (await return_items(tenant, order, [(product, 1)], key=key)) == first
    reused = await return_items(tenant, order, [(product, 2)], key=key)
    assert reused["__typename"] == "IdempotencyKeyReused"
    assert await count_rows(owner_db, tenant.id, "order_returns") == 1


async def test_viewers_may_not_return(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    order = (await buy(tenant, customer, [(product, 1)]))["order"]["id"]
    request = {"orderId": order, "items": [{"productId": product, "quantity": 1}],
               "idempotencyKey": new_key()}  # fmt: skip
    answer = await tenant.gql(RETURN_ITEMS, {"input": request}, role=Role.VIEWER)
    assert error_codes(answer) == ["FORBIDDEN"]
    owner = await return_items(tenant, order, [(product, 1)], role=Role.OWNER)
    assert owner["__typename"] == "ItemsReturned"


async def test_two_returns_racing_past_the_sold_quantity_one_is_refused(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=100)
    for _ in range(4):
        order = (await buy(tenant, customer, [(product, 5)]))["order"]["id"]
        results = await asyncio.gather(
            *(return_items(tenant, order, [(product, 3)]) for _ in range(2))
        )
        assert sorted(r["__typename"] for r in results) == ["ItemsReturned", "ReturnExceedsSold"]
        assert (await order_state(tenant, order))["status"] == "PARTIALLY_RETURNED"
    assert await stock_of(owner_db, product) == 100 - 4 * 2
    assert (await customer_state(tenant, customer))["balance"] == "80.00"
    assert await verify_business(owner_db, tenant.id) == []


async def test_a_void_racing_a_return_exactly_one_wins(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=100)
    for _ in range(4):
        order = (await buy(tenant, customer, [(product, 4)]))["order"]["id"]
        voided, returned = await asyncio.gather(
            void_order(tenant, order), return_items(tenant, order, [(product, 1)])
        )
        won = [r["__typename"] for r in (voided, returned) if r["__typename"] != "InvalidInput"]
        assert len(won) == 1, (voided, returned)
        status = (await order_state(tenant, order))["status"]
        assert status == ("VOIDED" if won == ["OrderVoided"] else "PARTIALLY_RETURNED")
    assert await verify_business(owner_db, tenant.id) == []


async def test_the_ledger_shows_every_kind_of_correction(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=20)
    order = (await buy(tenant, customer, [(product, 3)]))["order"]["id"]
    await return_items(tenant, order, [(product, 1)])
    await adjust_balance(tenant, customer, "5.00")
    await void_order(tenant, (await buy(tenant, customer, [(product, 1)]))["order"]["id"])
    data = await tenant.data(
        "query($id: ID!) { customer(id: $id) { ledger(first: 10) {"
        " edges { node { kind amount balanceAfter } } } } }",
        {"id": customer},
    )
    entries = [edge["node"] for edge in data["customer"]["ledger"]["edges"]]
    assert [(e["kind"], e["amount"]) for e in entries] == [
        ("REVERSAL", "-10.00"), ("CHARGE", "10.00"), ("ADJUSTMENT", "-5.00"),
        ("RETURN", "-10.00"), ("CHARGE", "30.00"),
    ]  # fmt: skip
    assert entries[0]["balanceAfter"] == "15.00"
