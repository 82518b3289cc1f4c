"""``adjustStock`` over HTTP: a new movement with its reason, never below zero."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.corrections import ADJUST_STOCK, adjust_stock, count_rows
from tests.helpers import error_codes, make_product
from tests.purchases import new_key, stock_of

pytestmark = pytest.mark.both_routes


async def test_damage_takes_units_away_and_records_before_and_after(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, stock=10)
    result = await adjust_stock(tenant, product, -3, reason="DAMAGE", note="crushed")
    assert result["__typename"] == "StockAdjusted", result
    assert result["product"] == {"id": product, "stock": 7}
    movement = result["movement"]
    assert {k: movement[k] for k in ("kind", "quantity", "stockBefore", "stockAfter")} == {
        "kind": "adjustment", "quantity": -3, "stockBefore": 10, "stockAfter": 7,
    }  # fmt: skip
    assert (movement["reason"], movement["note"]) == ("DAMAGE", "crushed")
    assert await stock_of(owner_db, product) == 7

    counted = await adjust_stock(tenant, product, 5, reason="COUNT")
    assert counted["movement"]["stockBefore"] == 7
    assert counted["product"]["stock"] == 12


async def test_stock_never_goes_below_zero(tenant: Tenant, owner_db: AsyncEngine) -> None:
    product = await make_product(tenant, stock=2)
    refused = await adjust_stock(tenant, product, -3, reason="LOSS")
    assert refused["__typename"] == "InsufficientStock"
    assert refused["lines"] == [{"productId": product, "requested": 3, "available": 2}]
    assert await count_rows(owner_db, tenant.id, "stock_movements", "kind = 'adjustment'") == 0
    assert await count_rows(owner_db, tenant.id, "idempotency_keys") == 0
    assert (await adjust_stock(tenant, product, -2, reason="LOSS"))["product"]["stock"] == 0


async def test_a_retry_answers_the_same_movement_and_moves_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, stock=10)
    key = new_key()
    first = await adjust_stock(tenant, product, -4, key=key)
    again = await adjust_stock(tenant, product, -4, key=key)
    assert again["movement"] == first["movement"]
    assert await stock_of(owner_db, product) == 6
    reused = await adjust_stock(tenant, product, -5, key=key)
    assert reused == {"__typename": "IdempotencyKeyReused", "message": reused["message"],
                      "idempotencyKey": key}  # fmt: skip


async def test_bad_input_is_refused_and_writes_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, stock=10)
    zero = await adjust_stock(tenant, product, 0)
    assert zero["__typename"] == "InvalidInput"
    assert zero["fields"][0]["field"] == "change"
    long_note = await adjust_stock(tenant, product, -1, note="x" * 501)
    assert [f["field"] for f in long_note["fields"]] == ["note"]
    missing = await adjust_stock(tenant, "999999", -1)
    assert missing["__typename"] == "NotFound"
    assert await count_rows(owner_db, tenant.id, "stock_movements", "kind = 'adjustment'") == 0


async def test_owners_and_clerks_may_adjust_viewers_may_not(tenant: Tenant) -> None:
    product = await make_product(tenant, stock=10)
    assert (await adjust_stock(tenant, product, -1, role=Role.OWNER))["__typename"] == (
        "StockAdjusted"
    )
    request = {"productId": product, "change": -1, "reason": "OTHER", "idempotencyKey": new_key()}
    answer = await tenant.gql(ADJUST_STOCK, {"input": request}, role=Role.VIEWER)
    assert error_codes(answer) == ["FORBIDDEN"]
