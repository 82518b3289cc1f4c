"""``verify`` checks the corrections too: reversals, returns within sales, returned stock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.corrections import adjust_balance, return_items, reverse_payment, sell, void_order
from tests.helpers import make_customer, make_product
from tests.purchases import buy, pay


@pytest.fixture
async def raw(owner_db: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """An owner connection with triggers off, to write what the service never could."""
    async with owner_db.connect() as connection:
        await connection.execute(text("SET session_replication_role = replica"))
        await connection.commit()
        yield connection
        await connection.execute(text("RESET session_replication_role"))
        await connection.commit()


async def _write(connection: AsyncConnection, sql: str, **params: Any) -> None:
    await connection.execute(text(sql), params)
    await connection.commit()


async def _corrected(tenant: Tenant) -> tuple[str, str, str]:
    """A business with every kind of correction: (customer, product, returned order)."""
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="2.00", stock=50)
    voided = (await buy(tenant, customer, [(product, 3)]))["order"]["id"]
    returned = (await buy(tenant, customer, [(product, 4)]))["order"]["id"]
    payment = (await pay(tenant, customer, "3.00"))["payment"]["id"]
    assert (await void_order(tenant, voided))["__typename"] == "OrderVoided"
    assert (await return_items(tenant, returned, [(product, 1)]))["__typename"] == "ItemsReturned"
    assert (await reverse_payment(tenant, payment))["__typename"] == "PaymentReversed"
    assert (await adjust_balance(tenant, customer, "1.00"))["__typename"] == "BalanceAdjusted"
    walk_in = await sell(tenant, None, [(product, 1)], paid=[("2.00", "CASH")])
    assert (await void_order(tenant, walk_in["order"]["id"]))["__typename"] == "OrderVoided"
    return customer, product, returned


async def test_a_business_with_every_correction_has_no_problems(
    tenant: Tenant, owner_db: AsyncEngine, app_db: AsyncEngine
) -> None:
    await _corrected(tenant)
    assert await verify_business(owner_db, tenant.id) == []
    assert await verify_business(app_db, tenant.id) == []


async def test_verify_reports_units_returned_beyond_those_sold(
    tenant: Tenant, owner_db: AsyncEngine, raw: AsyncConnection
) -> None:
    _, _, order = await _corrected(tenant)
    update = (
        "UPDATE order_return_items SET quantity = quantity + :n"
        " WHERE business_id = :b AND order_id = :o"
    )
    await _write(raw, update, n=10, b=tenant.id, o=int(order))
    try:
        problems = await verify_business(owner_db, tenant.id)
    finally:
        await _write(raw, update, n=-10, b=tenant.id, o=int(order))
    assert sorted(p.check for p in problems) == ["returned stock", "returns within sales"]
    within = next(p for p in problems if p.check == "returns within sales")
    assert "sold 4, returned 11" in within.detail
    assert await verify_business(owner_db, tenant.id) == []


async def test_verify_reports_a_reversal_of_another_customers_entry(
    tenant: Tenant, owner_db: AsyncEngine, raw: AsyncConnection
) -> None:
    await _corrected(tenant)
    other = await make_customer(tenant, name="Other")
    move = (
        "UPDATE credit_ledger SET customer_id = :c WHERE business_id = :b"
        " AND id = (SELECT max(id) FROM credit_ledger WHERE business_id = :b"
        " AND kind = 'reversal')"
    )
    async with owner_db.connect() as connection:
        original = (
            await connection.execute(
                text(
                    "SELECT customer_id FROM credit_ledger WHERE business_id = :b"
                    " AND kind = 'reversal' ORDER BY id DESC LIMIT 1"
                ),
                {"b": tenant.id},
            )
        ).scalar_one()
    await _write(raw, move, c=int(other), b=tenant.id)
    try:
        problems = await verify_business(owner_db, tenant.id)
    finally:
        await _write(raw, move, c=original, b=tenant.id)
    assert "reversal" in {p.check for p in problems}
    assert await verify_business(owner_db, tenant.id) == []


async def test_verify_reports_a_return_whose_money_does_not_add_up(
    tenant: Tenant, owner_db: AsyncEngine, raw: AsyncConnection
) -> None:
    await _corrected(tenant)
    change = (
        "UPDATE order_returns SET credited = credited + :n, credit_amount = credit_amount + :n"
        " WHERE business_id = :b"
    )
    await _write(raw, change, n=1, b=tenant.id)
    try:
        problems = await verify_business(owner_db, tenant.id)
    finally:
        await _write(raw, change, n=-1, b=tenant.id)
    assert [p.check for p in problems] == ["return credit"]
