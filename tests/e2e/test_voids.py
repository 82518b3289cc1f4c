"""``voidOrder``: stock back, the credit part reversed, counter payments refunded."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.corrections import (
    VOID_ORDER,
    count_rows,
    movements,
    order_state,
    reverse_payment,
    sell,
    void_order,
)
from tests.helpers import error_codes, make_customer, make_product
from tests.purchases import buy, customer_state, new_key, pay, stock_of

pytestmark = pytest.mark.both_routes


async def test_a_credit_sale_voided_gives_back_its_stock_and_its_charge(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant, price="10.00", stock=20)
    dal = await make_product(tenant, price="4.00", stock=20)
    await buy(tenant, customer, [(rice, 1)])
    sale = await buy(tenant, customer, [(rice, 3), (dal, 2)])
    order = sale["order"]["id"]

    voided = await void_order(tenant, order, reason="Wrong customer")
    assert voided["__typename"] == "OrderVoided", voided
    assert voided["order"]["status"] == "VOIDED"
    assert voided["order"]["voidReason"] == "Wrong customer"
    assert voided["order"]["voidedAt"].endswith("Z")
    assert voided["customer"]["balance"] == "10.00"
    assert (await stock_of(owner_db, rice), await stock_of(owner_db, dal)) == (19, 20)
    assert await movements(owner_db, tenant.id, "return") == [(int(rice), 3), (int(dal), 2)]
    async with owner_db.connect() as connection:
        reversal = (
            await connection.execute(
                text(
                    "SELECT r.amount, c.order_id FROM credit_ledger r JOIN credit_ledger c"
                    " ON c.business_id = r.business_id AND c.id = r.reverses_entry_id"
                    " WHERE r.business_id = :b AND r.kind = 'reversal'"
                ),
                {"b": tenant.id},
            )
        ).one()
    assert (reversal.amount, str(reversal.order_id)) == (-3800, order)
    assert await order_state(tenant, order) == {k: v for k, v in voided["order"].items()
                                                if k != "id"}  # fmt: skip
    assert await verify_business(owner_db, tenant.id) == []


async def test_counter_payments_are_refunded_with_their_methods(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=20)
    sale = await sell(tenant, customer, [(product, 5)], paid=[("20.00", "CASH"), ("10.00", "UPI")])
    assert sale["customer"]["balance"] == "20.00"
    voided = await void_order(tenant, sale["order"]["id"])
    assert voided["customer"]["balance"] == "0.00"
    assert voided["order"]["refunds"] == [
        {"amount": "20.00", "method": "CASH"}, {"amount": "10.00", "method": "UPI"},
    ]  # fmt: skip
    assert await verify_business(owner_db, tenant.id) == []


async def test_a_walk_in_sale_is_refunded_in_full_and_touches_no_ledger(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, price="10.00", stock=20)
    sale = await sell(tenant, None, [(product, 2)], paid=[("20.00", "CARD")])
    voided = await void_order(tenant, sale["order"]["id"])
    assert voided["customer"] is None
    assert voided["order"]["refunds"] == [{"amount": "20.00", "method": "CARD"}]
    assert await stock_of(owner_db, product) == 20
    assert await count_rows(owner_db, tenant.id, "credit_ledger") == 0


async def test_a_bounced_counter_payment_is_not_refunded(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=20)
    paid = [("30.00", "CHEQUE"), ("20.00", "CASH")]
    sale = await sell(tenant, customer, [(product, 5)], paid=paid)
    cheque = sale["order"]["payments"][0]["id"]
    assert (await reverse_payment(tenant, cheque))["customer"]["balance"] == "30.00"
    voided = await void_order(tenant, sale["order"]["id"])
    assert voided["order"]["refunds"] == [{"amount": "20.00", "method": "CASH"}]
    assert voided["customer"]["balance"] == "0.00"
    # The cheque's entry was reversed once (bounced); the void reversed the cash only.
    assert (await reverse_payment(tenant, cheque))["__typename"] == "AlreadyReversed"


async def test_voiding_twice_a_retry_and_bad_input(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=20)
    order = (await buy(tenant, customer, [(product, 2)]))["order"]["id"]
    assert (await void_order(tenant, order, reason="x" * 501))["__typename"] == "InvalidInput"
    assert (await void_order(tenant, order, reason=""))["__typename"] == "InvalidInput"
    assert (await void_order(tenant, "999999"))["__typename"] == "NotFound"
    assert await count_rows(owner_db, tenant.id, "order_voids") == 0

    key = new_key()
    first = await void_order(tenant, order, key=key)
    assert await void_order(tenant, order, key=key) == first
    assert (await void_order(tenant, order, key=key, reason="Other"))["__typename"] == (
        "IdempotencyKeyReused"
    )
    twice = await void_order(tenant, order)
    assert twice == {"__typename": "AlreadyVoided", "message": twice["message"], "orderId": order,
                     "voidedAt": first["order"]["voidedAt"]}  # fmt: skip
    assert await stock_of(owner_db, product) == 20
    assert (await customer_state(tenant, customer))["balance"] == "0.00"


async def test_only_owners_may_void(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    order = (await buy(tenant, customer, [(product, 1)]))["order"]["id"]
    request = {"orderId": order, "reason": "x", "idempotencyKey": new_key()}
    answer = await tenant.gql(VOID_ORDER, {"input": request}, role=Role.CLERK)
    assert error_codes(answer) == ["FORBIDDEN"]


async def test_two_voids_of_one_order_exactly_one_wins(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00", stock=50)
    for _ in range(4):
        order = (await buy(tenant, customer, [(product, 5)]))["order"]["id"]
        await pay(tenant, customer, "10.00")
        results = await asyncio.gather(*(void_order(tenant, order) for _ in range(3)))
        kinds = sorted(result["__typename"] for result in results)
        assert kinds == ["AlreadyVoided", "AlreadyVoided", "OrderVoided"]
    assert await stock_of(owner_db, product) == 50
    assert await count_rows(owner_db, tenant.id, "stock_movements", "kind = 'return'") == 4
    assert (await customer_state(tenant, customer))["balance"] == "-40.00"
    assert await verify_business(owner_db, tenant.id) == []
