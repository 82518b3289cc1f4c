"""Never stuck, never partial: lock timeouts answer TRY_AGAIN, a killed purchase leaves nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.config import Settings
from app.domain.identity import Role
from app.main import create_app
from tests.conftest import Tenant, post_graphql
from tests.helpers import make_customer, make_product
from tests.purchases import (
    RECORD_PAYMENT,
    blocked_purchase_pid,
    buy,
    customer_state,
    new_key,
    purchase_input,
    stock_of,
    written,
)

PURCHASE = "mutation($input: PurchaseInput!) { purchase(input: $input) { __typename } }"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app with ``settings``, running (lifespan included), and a client for it."""
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app.starlette, client


@pytest.fixture(scope="module")
async def impatient(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 200 ms lock timeout."""
    settings = Settings(
        database_url=database_url, auth_cache_seconds=0, pool_size=4, lock_timeout_ms=200
    )
    async with serving(settings) as (_, client):
        yield client


async def test_a_purchase_behind_a_held_lock_answers_try_again(
    tenant: Tenant, owner_db: AsyncEngine, impatient: httpx.AsyncClient
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    payment = {"input": {"customerId": customer, "amount": "1.00", "method": "CASH",
                         "idempotencyKey": new_key()}}  # fmt: skip
    token = tenant.keys[Role.CLERK]
    async with owner_db.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM customers WHERE id = :c FOR UPDATE"), {"c": int(customer)}
        )
        started = time.monotonic()
        purchase = purchase_input(customer, [(product, 1)])
        answers = [
            await post_graphql(impatient, PURCHASE, purchase, token=token),
            await post_graphql(impatient, RECORD_PAYMENT, payment, token=token),
        ]
        elapsed = time.monotonic() - started
        await holder.rollback()

    for answer in answers:
        assert answer["data"] is None, answer
        assert answer["errors"][0]["extensions"]["code"] == "TRY_AGAIN"
        assert "retry" in answer["errors"][0]["message"]
    assert elapsed < 2
    assert (await written(owner_db, tenant.id))["orders"] == 0
    # Once the lock is gone the same request goes through.
    result = await buy(tenant, customer, [(product, 1)])
    assert result["__typename"] == "PurchaseCompleted"


async def test_a_connection_killed_in_the_middle_of_a_purchase_leaves_no_trace(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, credit_limit="100.00")
    product = await make_product(tenant, price="4.00", stock=10)
    key = new_key()
    before = await customer_state(tenant, customer)
    async with owner_db.connect() as holder:
        # Its key being stored by another transaction: the purchase writes its order,
        # charge (and the customer's balance), the payment made now, its items and
        # stock movements, queues the order for its bill number, then waits to store
        # the key, the last thing it does, and is killed there.
        await holder.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(tenant.id)}
        )
        await holder.execute(
            text(
                "INSERT INTO idempotency_keys (business_id, key, operation, request_hash,"
                " response) VALUES (:b, :k, 'other', 'other', '{}')"
            ),
            {"b": tenant.id, "k": key},
        )
        request = purchase_input(customer, [(product, 3)], key=key)
        request["input"]["payments"] = [{"amount": "5.00", "method": "CASH"}]
        pending = asyncio.create_task(tenant.gql(PURCHASE, request, role=Role.CLERK))
        pid = await blocked_purchase_pid(owner_db)
        async with owner_db.connect() as killer:
            wrote = text(
                "SELECT array_agg(relation::regclass::text ORDER BY relation::regclass::text)"
                " FROM pg_locks WHERE pid = :p AND mode = 'RowExclusiveLock'"
                " AND relation::regclass::text IN ('orders', 'credit_ledger', 'customers',"
                " 'payments', 'order_items', 'stock_movements', 'products', 'bills_to_number')"
            )
            assert (await killer.execute(wrote, {"p": pid})).scalar_one() == [
                "bills_to_number", "credit_ledger", "customers", "order_items", "orders",
                "payments", "products", "stock_movements",
            ]  # fmt: skip
            assert (
                await killer.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            ).scalar_one()
        answer: dict[str, Any] = await asyncio.wait_for(pending, timeout=5)
        await holder.rollback()

    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "TRY_AGAIN"
    assert await written(owner_db, tenant.id) == {
        "orders": 0, "items": 0, "sales": 0, "charges": 0, "payments": 0, "payment_entries": 0,
        "keys": 0,
    }  # fmt: skip
    assert await stock_of(owner_db, product) == 10
    assert await customer_state(tenant, customer) == before
    # The service recovers: the same request succeeds on a fresh connection.
    done = await buy(tenant, customer, [(product, 3)], key=key)
    assert done["__typename"] == "PurchaseCompleted"
    assert done["order"]["number"].endswith("-000001")  # the killed sale's number is free


async def test_losing_a_race_on_a_new_key_is_retried_and_then_finds_the_key(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=10)
    key = new_key()
    async with owner_db.connect() as rival:
        # Another request (for another customer, so no lock is shared) is about to
        # commit this key: the purchase writes everything, then waits on the key.
        await rival.execute(
            text(
                "INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)"
                " VALUES (:b, :k, 'purchase', 'another request', '{}')"
            ),
            {"b": tenant.id, "k": key},
        )
        request = purchase_input(customer, [(product, 1)], key=key)
        full = "mutation($input: PurchaseInput!) { purchase(input: $input) { __typename"
        pending = asyncio.create_task(
            tenant.gql(full + " ... on IdempotencyKeyReused { idempotencyKey } } }", request)
        )
        await blocked_purchase_pid(owner_db)
        await rival.commit()
        answer = await asyncio.wait_for(pending, timeout=5)

    assert answer["data"]["purchase"] == {
        "__typename": "IdempotencyKeyReused",
        "idempotencyKey": key,
    }
    assert (await written(owner_db, tenant.id))["orders"] == 0
    assert await stock_of(owner_db, product) == 10


async def test_no_free_connection_answers_try_again(
    database_url: str, tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """Every pooled connection busy past DB_POOL_TIMEOUT_SECONDS: TRY_AGAIN, nothing written."""
    settings = Settings(
        database_url=database_url, auth_cache_seconds=60, pool_size=1, pool_timeout_seconds=0.2
    )
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    token = tenant.keys[Role.CLERK]
    async with serving(settings) as (app, client):
        # Authenticates (and caches the key) while the connection is free.
        first = await post_graphql(
            client, PURCHASE, purchase_input(customer, [(product, 1)]), token=token
        )
        assert first["data"]["purchase"]["__typename"] == "PurchaseCompleted"
        async with app.state.driver_pool.connection():  # the pool's only connection
            started = time.monotonic()
            answer = await post_graphql(
                client, PURCHASE, purchase_input(customer, [(product, 1)]), token=token
            )
            elapsed = time.monotonic() - started
    assert answer["data"] is None, answer
    assert answer["errors"][0]["extensions"]["code"] == "TRY_AGAIN"
    assert elapsed < 2
    assert await stock_of(owner_db, product) == 99, "only the first purchase ran"


async def test_no_free_connection_to_check_a_key_answers_503(
    database_url: str, tenant: Tenant
) -> None:
    """A key not yet cached needs the database; a pool busy past its timeout is a 503."""
    settings = Settings(
        database_url=database_url, auth_cache_seconds=0, pool_size=1, pool_timeout_seconds=0.2
    )
    async with serving(settings) as (app, client):
        async with app.state.driver_pool.connection():  # the pool's only connection
            response = await client.post(
                "/graphql",
                json={"query": "{ viewer { role } }"},
                headers={"Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"},
            )
        assert response.status_code == 503
        assert "retry" in response.text
        answer = await post_graphql(client, "{ viewer { role } }", token=tenant.keys[Role.VIEWER])
    assert answer["data"] == {"viewer": {"role": "VIEWER"}}


async def test_a_request_past_its_deadline_answers_try_again_and_the_worker_goes_on(
    database_url: str, tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """Locks and statements may wait 30 s here; the request's deadline of 1 s cuts it."""
    settings = Settings(
        database_url=database_url, lock_timeout_ms=30_000, statement_timeout_ms=30_000,
        request_deadline_seconds=1,
    )  # fmt: skip
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=10)
    request = {"query": PURCHASE, "variables": purchase_input(customer, [(product, 2)])}
    headers = {"Authorization": f"Bearer {tenant.keys[Role.CLERK]}"}
    async with serving(settings) as (_, client), owner_db.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM customers WHERE id = :c FOR UPDATE"), {"c": int(customer)}
        )
        started = time.monotonic()
        pending = asyncio.create_task(client.post("/graphql", json=request, headers=headers))
        await blocked_purchase_pid(owner_db)
        health = await client.get("/healthz")  # the same worker, while the purchase waits
        assert health.status_code == 200
        assert time.monotonic() - started < 1
        late = await asyncio.wait_for(pending, timeout=5)
        elapsed = time.monotonic() - started
        await holder.rollback()
        retried = await client.post("/graphql", json=request, headers=headers)

    assert late.status_code == 503, late.text
    assert late.headers["retry-after"] == "1"
    assert late.json()["errors"][0]["extensions"]["code"] == "TRY_AGAIN"
    assert 1 <= elapsed < 2.5
    # Cancelled while it waited: nothing written; its retry (same key) writes it once.
    assert retried.json()["data"]["purchase"]["__typename"] == "PurchaseCompleted"
    assert (await written(owner_db, tenant.id))["orders"] == 1
    assert await stock_of(owner_db, product) == 8
