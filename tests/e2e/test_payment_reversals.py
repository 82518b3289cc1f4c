"""``reversePayment``: a bounced cheque owes again, past the limit if need be."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.corrections import REVERSE_PAYMENT, count_rows, reverse_payment, sell
from tests.helpers import error_codes, make_customer, make_product
from tests.purchases import buy, customer_state, new_key, pay

pytestmark = pytest.mark.both_routes


async def _paid_customer(tenant: Tenant, *, limit: str = "100.00") -> tuple[str, str, str]:
    """A customer who bought 100.00 on credit and paid 50.00: (customer, product, payment)."""
    customer = await make_customer(tenant, credit_limit=limit)
    product = await make_product(tenant, price="10.00", stock=1000)
    assert (await buy(tenant, customer, [(product, 10)]))["__typename"] == "PurchaseCompleted"
    paid = await pay(tenant, customer, "50.00", method="CHEQUE", reference="CHQ-1")
    return customer, product, paid["payment"]["id"]


async def test_a_reversed_payment_is_owed_again_with_an_entry_pointing_at_it(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, _, payment = await _paid_customer(tenant, limit="1000.00")
    result = await reverse_payment(tenant, payment, reason="Cheque bounced")
    assert result["__typename"] == "PaymentReversed", result
    assert result["payment"]["reversalReason"] == "Cheque bounced"
    assert result["payment"]["reversedAt"].endswith("Z")
    assert result["customer"]["balance"] == "100.00"
    assert result["customer"]["overLimit"] is False
    assert await customer_state(tenant, customer) == {
        k: result["customer"][k] for k in ("id", "balance", "creditLimit", "availableCredit")
    }
    async with owner_db.connect() as connection:
        entry = (
            await connection.execute(
                text(
                    "SELECT r.kind, r.amount, r.balance_after, p.payment_id FROM credit_ledger r"
                    " JOIN credit_ledger p ON p.business_id = r.business_id"
                    " AND p.id = r.reverses_entry_id WHERE r.business_id = :b"
                ),
                {"b": tenant.id},
            )
        ).one()
    assert (entry.kind, entry.amount, entry.balance_after) == ("reversal", 5000, 10000)
    assert str(entry.payment_id) == payment
    assert await count_rows(owner_db, tenant.id, "payments") == 1


async def test_past_the_limit_the_customer_is_over_limit_and_credit_is_refused(
    tenant: Tenant,
) -> None:
    customer, product, payment = await _paid_customer(tenant)
    assert (await buy(tenant, customer, [(product, 5)]))["__typename"] == "PurchaseCompleted"
    # Balance 100.00 = the limit; the reversal takes it to 150.00.
    result = await reverse_payment(tenant, payment)
    assert result["customer"]["balance"] == "150.00"
    assert result["customer"]["overLimit"] is True
    assert result["customer"]["availableCredit"] == "0.00"

    refused = await sell(tenant, customer, [(product, 1)], paid=[("5.00", "CASH")])
    assert refused["__typename"] == "CreditLimitExceeded"
    assert refused["balance"] == "150.00"

    await pay(tenant, customer, "60.00")
    again = await sell(tenant, customer, [(product, 1)])
    assert again["__typename"] == "PurchaseCompleted"
    assert again["customer"]["balance"] == "100.00"


async def test_twice_a_retry_and_a_reused_key(tenant: Tenant, owner_db: AsyncEngine) -> None:
    _, _, payment = await _paid_customer(tenant, limit="1000.00")
    key = new_key()
    first = await reverse_payment(tenant, payment, key=key)
    replay = await reverse_payment(tenant, payment, key=key)
    assert replay == first
    other = await reverse_payment(tenant, payment, key=key, reason="Another reason")
    assert other["__typename"] == "IdempotencyKeyReused"
    twice = await reverse_payment(tenant, payment)
    assert twice == {
        "__typename": "AlreadyReversed", "message": twice["message"], "paymentId": payment,
        "reversedAt": first["payment"]["reversedAt"],
    }  # fmt: skip
    assert await count_rows(owner_db, tenant.id, "credit_ledger", "kind = 'reversal'") == 1


async def test_bad_input_is_refused_and_writes_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    _, product, payment = await _paid_customer(tenant)
    too_long = await reverse_payment(tenant, payment, reason="x" * 501)
    assert too_long["__typename"] == "InvalidInput"
    assert [f["field"] for f in too_long["fields"]] == ["reason"]
    assert (await reverse_payment(tenant, payment, reason="  "))["__typename"] == "InvalidInput"
    assert (await reverse_payment(tenant, "999999"))["__typename"] == "NotFound"
    walk_in = await sell(tenant, None, [(product, 1)], paid=[("10.00", "CASH")])
    assert walk_in["__typename"] == "PurchaseCompleted", walk_in
    counter = walk_in["order"]["payments"][0]["id"]
    assert (await reverse_payment(tenant, counter))["__typename"] == "InvalidInput"
    assert await count_rows(owner_db, tenant.id, "payment_reversals") == 0
    assert await count_rows(owner_db, tenant.id, "credit_ledger", "kind = 'reversal'") == 0


async def test_only_owners_may_reverse(tenant: Tenant) -> None:
    _, _, payment = await _paid_customer(tenant)
    request = {"paymentId": payment, "reason": "x", "idempotencyKey": new_key()}
    answer = await tenant.gql(REVERSE_PAYMENT, {"input": request}, role=Role.CLERK)
    assert error_codes(answer) == ["FORBIDDEN"]


async def test_a_reversal_racing_a_purchase_at_the_limit_is_decided_one_way_or_the_other(
    tenant: Tenant,
) -> None:
    outcomes = set()
    for _ in range(6):
        customer, product, payment = await _paid_customer(tenant)
        # Balance 50.00; a 50.00 purchase fits only if it comes before the reversal.
        purchase, reversal = await asyncio.gather(
            buy(tenant, customer, [(product, 5)]), reverse_payment(tenant, payment)
        )
        assert reversal["__typename"] == "PaymentReversed"
        balance = (await customer_state(tenant, customer))["balance"]
        if purchase["__typename"] == "PurchaseCompleted":
            assert purchase["customer"]["balance"] == "100.00"
            assert balance == "150.00"
        else:
            assert purchase["__typename"] == "CreditLimitExceeded"
            assert purchase["balance"] == "100.00"
            assert balance == "100.00"
        outcomes.add(purchase["__typename"])
    assert outcomes  # either order is correct; neither may mix the two
