"""``recordPayment`` over HTTP: every member of its result union, replays and refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.purchases import buy, customer_state, new_key, pay, written

pytestmark = pytest.mark.both_routes


async def _owing(tenant: Tenant, amount_units: int, price: str = "10.00") -> str:
    customer = await make_customer(tenant, credit_limit="1000.00")
    product = await make_product(tenant, price=price, stock=100)
    assert (await buy(tenant, customer, [(product, amount_units)]))["__typename"] == (
        "PurchaseCompleted"
    )
    return customer


async def test_a_payment_lowers_the_balance_with_a_negative_ledger_entry(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await _owing(tenant, 5)
    result = await pay(tenant, customer, "20.50", method="UPI", reference="UPI-123")

    assert result["__typename"] == "PaymentRecorded", result
    payment = result["payment"]
    assert (payment["amount"], payment["method"], payment["reference"]) == (
        "20.50", "UPI", "UPI-123",
    )  # fmt: skip
    assert payment["createdAt"].endswith("Z")
    assert result["customer"]["balance"] == "29.50"
    assert result["customer"]["availableCredit"] == "970.50"
    assert await customer_state(tenant, customer) == result["customer"]
    async with owner_db.connect() as connection:
        entry = (
            await connection.execute(
                text(
                    "SELECT kind, amount, balance_after, payment_id FROM credit_ledger"
                    " WHERE business_id = :b ORDER BY id DESC LIMIT 1"
                ),
                {"b": tenant.id},
            )
        ).one()
    assert (entry.kind, entry.amount, entry.balance_after) == ("payment", -2050, 2950)
    assert str(entry.payment_id) == payment["id"]


async def test_paying_the_whole_balance_is_allowed_and_more_is_refused(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await _owing(tenant, 3)
    refused = await pay(tenant, customer, "30.01")
    assert refused == {
        "__typename": "PaymentExceedsBalance",
        "message": refused["message"],
        "balance": "30.00",
        "amount": "30.01",
    }
    assert (await written(owner_db, tenant.id))["payments"] == 0

    paid = await pay(tenant, customer, "30.00", method="BANK_TRANSFER")
    assert paid["customer"]["balance"] == "0.00"
    assert (await pay(tenant, customer, "0.01"))["__typename"] == "PaymentExceedsBalance"


async def test_every_payment_method_is_accepted(tenant: Tenant) -> None:
    customer = await _owing(tenant, 10)
    for method in ("CASH", "UPI", "CARD", "BANK_TRANSFER", "CHEQUE", "OTHER"):
        result = await pay(tenant, customer, "1.00", method=method)
        assert result["payment"]["method"] == method


async def test_a_payment_replay_returns_the_original_payment(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await _owing(tenant, 4)
    key = new_key()
    first = await pay(tenant, customer, "15.00", key=key, reference="r1")
    replay = await pay(tenant, customer, "15.00", key=key, reference="r1")
    assert replay == first
    counts = await written(owner_db, tenant.id)
    assert (counts["payments"], counts["payment_entries"]) == (1, 1)

    reused = await pay(tenant, customer, "16.00", key=key, reference="r1")
    assert reused["__typename"] == "IdempotencyKeyReused"
    assert reused["idempotencyKey"] == key


async def test_a_purchase_key_cannot_be_reused_for_a_payment(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    key = new_key()
    await buy(tenant, customer, [(product, 1)], key=key)
    assert (await pay(tenant, customer, "1.00", key=key))["__typename"] == "IdempotencyKeyReused"


async def test_a_refused_payment_key_can_be_used_once_there_is_a_balance(tenant: Tenant) -> None:
    customer = await make_customer(tenant, credit_limit="100.00")
    product = await make_product(tenant, price="5.00")
    key = new_key()
    assert (await pay(tenant, customer, "5.00", key=key))["__typename"] == "PaymentExceedsBalance"
    await buy(tenant, customer, [(product, 1)])
    assert (await pay(tenant, customer, "5.00", key=key))["__typename"] == "PaymentRecorded"


async def test_payment_for_an_unknown_or_foreign_customer_is_not_found(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    foreign = await _owing(other_tenant, 2)
    for customer in ("999999999", foreign):
        result = await pay(tenant, customer, "1.00")
        assert result["__typename"] == "NotFound"
        assert result["id"] == customer
    assert (await written(owner_db, other_tenant.id))["payments"] == 0


async def test_invalid_payment_input_names_each_field(tenant: Tenant) -> None:
    for amount, field in (("0.00", "amount"), ("-1.00", "amount"), ("1.005", "amount")):
        result = await pay(tenant, "1", amount)
        assert [f["field"] for f in result["fields"]] == [field], amount
    result = await pay(tenant, "x", "1.00", key=" ", reference="r" * 201)
    assert {f["field"] for f in result["fields"]} == {"customerId", "idempotencyKey", "reference"}


async def test_a_viewer_may_not_record_payments(tenant: Tenant) -> None:
    customer = await _owing(tenant, 1)
    answer = await tenant.gql(
        "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { __typename } }",
        {"input": {"customerId": customer, "amount": "1.00", "method": "CASH",
                   "idempotencyKey": new_key()}},
        role=Role.VIEWER,
    )  # fmt: skip
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_available_credit_never_goes_below_zero_when_the_limit_is_lowered(
    tenant: Tenant,
) -> None:
    customer = await _owing(tenant, 5)
    await tenant.data(
        "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { __typename } }",
        {"input": {"customerId": customer, "creditLimit": "20.00"}},
    )
    result = await pay(tenant, customer, "10.00")
    assert (result["customer"]["balance"], result["customer"]["availableCredit"]) == (
        "40.00", "0.00",
    )  # fmt: skip
