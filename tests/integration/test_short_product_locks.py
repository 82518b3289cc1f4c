"""Migration 0006: a purchase completes only on the values it wrote, decides refusals on
locked values, and downgrades to 0005 exactly.  (0006 also wrote the order, charge and key
before the product locks; since 0009 everything a sale writes needs its bill number, which
comes last, so nothing is written before them.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.integration.test_lean_write_path import (
    QUEUE_KEY,
    _bind,
    _blocked_purchase,
    downgrade_round_trip,
)
from tests.purchases import buy, stock_of, written

_HELD = text(
    "SELECT array_agg(relation::regclass::text ORDER BY relation::regclass::text)"
    " FROM pg_locks WHERE pid = :p AND mode = 'RowExclusiveLock'"
    " AND relation::regclass::text IN"
    " ('orders', 'order_items', 'stock_movements', 'credit_ledger', 'idempotency_keys',"
    " 'bill_counters', 'payments')"
)
"""The tables a backend has written to in its open transaction."""


async def _queue_held(owner_db: AsyncEngine, tenant: Tenant, product: str) -> AsyncConnection:
    """A connection holding the advisory lock buyers of ``product`` queue on."""
    holder = await owner_db.connect()
    await holder.execute(
        text(f"SELECT pg_advisory_xact_lock({QUEUE_KEY})"), {"b": tenant.id, "p": int(product)}
    )
    return holder


async def test_a_sale_queued_for_its_products_has_written_nothing_and_has_no_bill_number(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="2.50", stock=5)
    holder = await _queue_held(owner_db, tenant, product)
    try:
        pending = asyncio.create_task(buy(tenant, customer, [(product, 2)]))
        pid = await _blocked_purchase(owner_db, "advisory")
        async with owner_db.connect() as probe:
            held = (await probe.execute(_HELD, {"p": pid})).scalar_one()
        # Nothing is written before the product locks (and no bill number is taken
        # before the commit, 0014).
        assert held is None
    finally:
        await holder.rollback()
        await holder.close()
    result = await asyncio.wait_for(pending, timeout=5)
    assert result["__typename"] == "PurchaseCompleted"
    assert result["order"]["total"] == "5.00"
    assert await stock_of(owner_db, product) == 3


async def _while_queued(
    owner_db: AsyncEngine, tenant: Tenant, product: str,
    buy_it: Callable[[], Awaitable[dict[str, Any]]], change: str,
) -> asyncio.Task[dict[str, Any]]:  # fmt: skip
    """Start ``buy_it`` with the product's queue held (so it must wait there, after it
    has read the product), run ``change`` on the product, then let the purchase go on."""
    holder = await _queue_held(owner_db, tenant, product)
    try:
        buying = asyncio.create_task(buy_it())
        await _blocked_purchase(owner_db, "advisory")
        async with owner_db.begin() as other:
            await _bind(other, tenant.id)
            await other.execute(text(change), {"p": int(product)})
    finally:
        await holder.rollback()
        await holder.close()
    return buying


async def test_a_price_changed_before_the_lock_is_retried_at_the_new_price(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="2.00", stock=5)
    buying = await _while_queued(
        owner_db, tenant, product, lambda: buy(tenant, customer, [(product, 2)]),
        "UPDATE products SET price = 300 WHERE id = :p",
    )  # fmt: skip
    result = await asyncio.wait_for(buying, timeout=5)
    assert result["__typename"] == "PurchaseCompleted"
    assert [item["unitPrice"] for item in result["order"]["items"]] == ["3.00"]
    assert result["order"]["total"] == "6.00"
    assert result["customer"]["balance"] == "6.00"
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["keys"]) == (1, 1, 1)


async def test_stock_gone_before_the_lock_is_refused_with_the_locked_stock(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=5)
    # A correction taking 3 units away, committed while the purchase waits.
    buying = await _while_queued(
        owner_db, tenant, product, lambda: buy(tenant, customer, [(product, 4)]),
        f"INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
        f" VALUES ({tenant.id}, :p, 'reversal', -3)",
    )  # fmt: skip
    result = await asyncio.wait_for(buying, timeout=5)
    assert result["__typename"] == "InsufficientStock"
    assert result["lines"] == [{"productId": product, "requested": 4, "available": 2}]
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["keys"]) == (0, 0, 0)
    assert await stock_of(owner_db, product) == 2


async def test_a_refusal_waits_for_the_product_lock_and_writes_nothing(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, credit_limit="1.00")
    product = await make_product(tenant, price="2.00")
    holder = await _queue_held(owner_db, tenant, product)
    try:
        refused = asyncio.create_task(buy(tenant, customer, [(product, 1)]))
        pid = await _blocked_purchase(owner_db, "advisory")
        async with owner_db.connect() as probe:
            assert (await probe.execute(_HELD, {"p": pid})).scalar_one() is None
        assert not refused.done()
    finally:
        await holder.rollback()
        await holder.close()
    result = await asyncio.wait_for(refused, timeout=5)
    assert result["__typename"] == "CreditLimitExceeded"
    assert (result["balance"], result["orderTotal"]) == ("0.00", "2.00")


def test_the_downgrade_restores_the_0005_functions_exactly(
    scratch_databases: tuple[str, str],
) -> None:
    before, at_head, after = downgrade_round_trip(scratch_databases, "0005_lean_write_path")
    assert after == before
    assert at_head != before, "0006 changed purchase()"
