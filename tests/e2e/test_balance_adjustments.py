"""``adjustBalance``: write-offs never below zero, corrections either way."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.corrections import ADJUST_BALANCE, adjust_balance, count_rows
from tests.helpers import error_codes, make_customer, make_product
from tests.purchases import buy, customer_state, new_key

pytestmark = pytest.mark.both_routes


async def _owing(tenant: Tenant, units: int = 5) -> str:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="10.00")
    assert (await buy(tenant, customer, [(product, units)]))["__typename"] == "PurchaseCompleted"
    return customer


async def test_a_write_off_lowers_the_balance_down_to_zero_and_no_further(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await _owing(tenant)
    done = await adjust_balance(tenant, customer, "20.00", reason="Damaged in transit")
    assert done["__typename"] == "BalanceAdjusted", done
    assert done["adjustment"]["kind"] == "WRITE_OFF"
    assert done["adjustment"]["amount"] == "-20.00"
    assert done["adjustment"]["reason"] == "Damaged in transit"
    assert done["customer"]["balance"] == "30.00"

    refused = await adjust_balance(tenant, customer, "30.01")
    assert refused == {"__typename": "WriteOffExceedsBalance", "message": refused["message"],
                       "balance": "30.00", "amount": "30.01"}  # fmt: skip
    assert await count_rows(owner_db, tenant.id, "balance_adjustments") == 1
    assert (await adjust_balance(tenant, customer, "30.00"))["customer"]["balance"] == "0.00"
    assert (await adjust_balance(tenant, customer, "0.01"))["__typename"] == (
        "WriteOffExceedsBalance"
    )
    assert (await verify_business(owner_db, tenant.id)) == []


async def test_a_correction_goes_either_way(tenant: Tenant) -> None:
    customer = await _owing(tenant)
    up = await adjust_balance(tenant, customer, "7.50", kind="CORRECTION", reason="Missed item")
    assert up["customer"]["balance"] == "57.50"
    assert up["adjustment"]["amount"] == "7.50"
    down = await adjust_balance(tenant, customer, "-60.00", kind="CORRECTION", reason="Typo")
    assert down["customer"]["balance"] == "-2.50"
    assert (await customer_state(tenant, customer))["balance"] == "-2.50"


async def test_retries_reused_keys_and_bad_input(tenant: Tenant, owner_db: AsyncEngine) -> None:
    customer = await _owing(tenant)
    key = new_key()
    first = await adjust_balance(tenant, customer, "5.00", key=key)
    assert await adjust_balance(tenant, customer, "5.00", key=key) == first
    reused = await adjust_balance(tenant, customer, "6.00", key=key)
    assert reused["__typename"] == "IdempotencyKeyReused"

    for amount, kind, reason, field in (
        ("0", "CORRECTION", "x", "amount"),
        ("-1.00", "WRITE_OFF", "x", "amount"),
        ("1.001", "WRITE_OFF", "x", "amount"),
        ("1.00", "WRITE_OFF", "x" * 501, "reason"),
        ("1.00", "WRITE_OFF", " ", "reason"),
    ):
        bad = await adjust_balance(tenant, customer, amount, kind=kind, reason=reason)
        assert bad["__typename"] == "InvalidInput", (amount, kind, bad)
        assert [f["field"] for f in bad["fields"]] == [field]
    assert (await adjust_balance(tenant, "999999", "1.00"))["__typename"] == "NotFound"
    assert await count_rows(owner_db, tenant.id, "balance_adjustments") == 1
    assert await count_rows(owner_db, tenant.id, "credit_ledger", "kind = 'adjustment'") == 1


async def test_only_owners_may_adjust_a_balance(tenant: Tenant) -> None:
    customer = await _owing(tenant)
    request = {"customerId": customer, "amount": "1.00", "kind": "WRITE_OFF", "reason": "x",
               "idempotencyKey": new_key()}  # fmt: skip
    answer = await tenant.gql(ADJUST_BALANCE, {"input": request}, role=Role.CLERK)
    assert error_codes(answer) == ["FORBIDDEN"]
