"""PostgreSQL stopped and started under load, or while the service idles: it heals.

While the database is down every answer is a result, a GraphQL error with code
``TRY_AGAIN``, or HTTP 503 JSON with ``Retry-After``; never ``INTERNAL_SERVER_ERROR``
nor a body that is not JSON.  Once it is back, requests succeed at once: no pooled
connection the restart closed is ever used.  Retried with their idempotency keys,
the writes that heard ``TRY_AGAIN`` leave each effect exactly once.

These tests stop PostgreSQL, so they run their own (``tests.private_postgres``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.config import Settings
from app.db.engine import owner_engine
from app.db.migrations import upgrade
from app.domain.identity import Role
from app.main import create_app
from app.services import admin
from app.services.verify import verify_business
from tests import private_postgres
from tests.conftest import Tenant, new_tenant, post_graphql
from tests.db import create_database
from tests.helpers import make_customer, make_product
from tests.purchases import new_key, purchase_input

RECOVERY_SECONDS = 2
"""Requests sent this long after PostgreSQL is back must all succeed."""
CLIENTS = 4
PRICE = Decimal("2.00")
STOCK = 100_000

PURCHASE = """
mutation($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id total } }
  }
}
"""
RESTOCK = """
mutation($input: RestockProductInput!) {
  restockProduct(input: $input) { __typename ... on ProductRestocked { product { stock } } }
}
"""
# The customer through a dataloader's unit of work (SQLAlchemy's pool), the page of
# products through the driver pool.
READ = """
query($id: ID!) {
  customer(id: $id) { balance }
  products(first: 5) { edges { node { id stock } } }
}
"""


@pytest.fixture(scope="module")
def private() -> Iterator[private_postgres.PrivatePostgres]:
    server = private_postgres.create()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def private_url(private: private_postgres.PrivatePostgres) -> str:
    url = create_database(private.url)
    upgrade(url)
    return url


@dataclass
class Service:
    app: Starlette
    http: httpx.AsyncClient
    owner_url: str
    tenant: Tenant
    customer: str
    product: str

    @asynccontextmanager
    async def owner(self) -> AsyncIterator[AsyncEngine]:
        """The owner's engine, new each time: a restart closes whatever one had pooled."""
        engine = owner_engine(self.owner_url)
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture
async def service(private_url: str) -> AsyncIterator[Service]:
    """The app on the private server, its keys cached, as in production."""
    settings = Settings(
        database_url=private_url, auth_cache_seconds=300, pool_size=4, pool_timeout_seconds=2
    )
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            owner = owner_engine(private_url)
            tenant = await new_tenant(owner, http)
            await owner.dispose()
            customer = await make_customer(tenant, credit_limit="1000000.00")
            product = await make_product(tenant, price=str(PRICE), stock=STOCK)
            yield Service(app.starlette, http, private_url, tenant, customer, product)


@dataclass
class Answer:
    kind: str
    key: str | None
    started: float
    response: httpx.Response

    @property
    def outcome(self) -> str:
        """``ok``, ``try_again`` (as a client may hear it) or ``bad``."""
        response = self.response
        if not response.headers.get("content-type", "").startswith("application/json"):
            return "bad"
        errors = response.json().get("errors")
        if response.status_code == 503:
            retry = response.headers.get("retry-after") is not None
            return "try_again" if retry and _codes(errors) == {"TRY_AGAIN"} else "bad"
        if response.status_code != 200:
            return "bad"
        if errors:
            return "try_again" if _codes(errors) == {"TRY_AGAIN"} else "bad"
        return "ok"

    def describe(self) -> str:
        return f"{self.kind} -> {self.response.status_code} {self.response.text[:300]}"


def _codes(errors: list[dict[str, Any]] | None) -> set[str | None]:
    return {(error.get("extensions") or {}).get("code") for error in errors or []}


@dataclass
class Load:
    """A few clients buying, restocking and reading in turn until told to stop."""

    service: Service
    answers: list[Answer] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, kind: str, key: str | None = None) -> Answer:
        service, token = self.service, self.service.tenant.keys[Role.CLERK]
        key = key or (new_key() if kind != "read" else None)
        if kind == "purchase":
            body = {"query": PURCHASE, "variables": purchase_input(
                service.customer, [(service.product, 1)], key=key
            )}  # fmt: skip
        elif kind == "restock":
            request = {"productId": service.product, "quantity": 1, "idempotencyKey": key}
            body = {"query": RESTOCK, "variables": {"input": request}}
        else:
            body = {"query": READ, "variables": {"id": service.customer}}
        started = time.monotonic()
        response = await service.http.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        answer = Answer(kind, key, started, response)
        self.answers.append(answer)
        return answer

    async def client(self, number: int) -> None:
        kinds = ("purchase", "read", "restock")
        while not self.stopping.is_set():
            await self.send(kinds[number % len(kinds)])
            number += 1
            await asyncio.sleep(0.01)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        clients = [asyncio.create_task(self.client(number)) for number in range(CLIENTS)]
        try:
            yield
        finally:
            self.stopping.set()
            await asyncio.gather(*clients)


async def get(service: Service, path: str, **kwargs: Any) -> httpx.Response:
    return await service.http.request(kwargs.pop("method", "GET"), path, **kwargs)


async def new_key_token(service: Service) -> str:
    """A viewer's key the service has not seen, so it is not in its cache."""
    async with service.owner() as owner:
        key = await admin.create_key(owner, business_id=service.tenant.id, role=Role.VIEWER)
    return key.token


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_stopped_and_started_under_load_answers_try_again_and_heals(
    private: private_postgres.PrivatePostgres, service: Service, mode: str
) -> None:
    uncached = await new_key_token(service)
    load = Load(service)
    async with load.running():
        await asyncio.sleep(0.5)
        await asyncio.to_thread(private.stop, mode)
        stopped = time.monotonic()
        await asyncio.sleep(0.5)
        assert_unavailable(ready := await get(service, "/readyz"))
        assert ready.json()["status"] == "unavailable"
        refused = await get(
            service, "/graphql", method="POST", json={"query": "{ viewer { role } }"},
            headers={"Authorization": f"Bearer {uncached}"},
        )  # fmt: skip
        assert_unavailable(refused)
        assert _codes(refused.json()["errors"]) == {"TRY_AGAIN"}
        await asyncio.sleep(1.0)
        restarting = time.monotonic()
        await asyncio.to_thread(private.start)
        restarted = time.monotonic()
        await asyncio.sleep(RECOVERY_SECONDS + 0.5)
    assert (await get(service, "/readyz")).json()["status"] == "ready"

    bad = [answer.describe() for answer in load.answers if answer.outcome == "bad"]
    assert bad == [], bad[:5]
    during = [answer for answer in load.answers if stopped < answer.started < restarting]
    assert during, "no request was sent while PostgreSQL was down"
    assert all(answer.outcome == "try_again" for answer in during)
    late = [a for a in load.answers if a.started > restarted + RECOVERY_SECONDS]
    assert late, "no request was sent after the recovery time"
    assert all(answer.outcome == "ok" for answer in late), [
        answer.describe() for answer in late if answer.outcome != "ok"
    ][:5]
    await assert_each_write_took_effect_once(service, load)


async def assert_each_write_took_effect_once(service: Service, load: Load) -> None:
    """Retry every write that heard TRY_AGAIN with its key; then the books must add up."""
    orders: dict[str, str] = {}
    restocks: set[str] = set()
    for first in list(load.answers):
        if first.kind == "read":
            continue
        answer = first if first.outcome == "ok" else await load.send(first.kind, first.key)
        assert answer.outcome == "ok", answer.describe()
        assert answer.key is not None
        data = answer.response.json()["data"]
        if answer.kind == "purchase":
            assert data["purchase"]["__typename"] == "PurchaseCompleted", data
            orders[answer.key] = data["purchase"]["order"]["id"]
        else:
            assert data["restockProduct"]["__typename"] == "ProductRestocked", data
            restocks.add(answer.key)

    tenant = service.tenant
    async with service.owner() as owner, owner.connect() as connection:
        stored = set(
            (
                await connection.execute(
                    text("SELECT id::text FROM orders WHERE business_id = :b"), {"b": tenant.id}
                )
            ).scalars()
        )
        keys = (
            await connection.execute(
                text("SELECT count(*) FROM idempotency_keys WHERE business_id = :b"),
                {"b": tenant.id},
            )
        ).scalar_one()
        assert await verify_business(owner, tenant.id) == []
    assert stored == set(orders.values()), "every purchase made exactly one order"
    assert len(orders) == len(set(orders.values()))
    assert keys == len(orders) + len(restocks)
    data = await tenant.data(READ, {"id": service.customer})
    assert Decimal(data["customer"]["balance"]) == PRICE * len(orders)
    stock = data["products"]["edges"][0]["node"]["stock"]
    assert stock == STOCK - len(orders) + len(restocks)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_after_a_restart_without_traffic_the_first_requests_succeed(
    private: private_postgres.PrivatePostgres, service: Service, mode: str
) -> None:
    load = Load(service)
    for kind in ("purchase", "read", "restock"):  # both pools now hold idle connections
        assert (await load.send(kind)).outcome == "ok"
    uncached = await new_key_token(service)
    pool = service.app.state.driver_pool
    assert pool.opened > 0

    await asyncio.to_thread(private.stop, mode)
    await asyncio.to_thread(private.start)

    answers = [await load.send(kind) for kind in ("purchase", "read", "restock")]
    assert [answer.describe() for answer in answers if answer.outcome != "ok"] == []
    viewer = await get(
        service, "/graphql", method="POST", json={"query": "{ viewer { role } }"},
        headers={"Authorization": f"Bearer {uncached}"},
    )  # fmt: skip
    assert viewer.json() == {"data": {"viewer": {"role": "VIEWER"}}}
    assert (await get(service, "/readyz")).json()["status"] == "ready"


async def test_a_unit_of_work_behind_a_held_lock_answers_try_again(
    database_url: str, tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """A lock timeout outside the hot paths (SQLAlchemy's units of work) is TRY_AGAIN too."""
    customer = await make_customer(tenant)
    product = await make_product(tenant)
    settings = Settings(database_url=database_url, auth_cache_seconds=0, lock_timeout_ms=200)
    app = create_app(settings)
    update = (
        "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { __typename } }"
    )
    rename = {"input": {"customerId": customer, "name": "Renamed"}}
    restock = {"input": {"productId": product, "quantity": 1, "idempotencyKey": new_key()}}
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
            owner_db.connect() as holder,
        ):
            await holder.execute(
                text("SELECT 1 FROM customers WHERE id = :c FOR UPDATE"), {"c": int(customer)}
            )
            await holder.execute(
                text("SELECT 1 FROM products WHERE id = :p FOR UPDATE"), {"p": int(product)}
            )
            started = time.monotonic()
            answers = [
                await post_graphql(http, update, rename, token=tenant.keys[Role.OWNER]),
                await post_graphql(http, RESTOCK, restock, token=tenant.keys[Role.CLERK]),
            ]
            elapsed = time.monotonic() - started
            await holder.rollback()
    for answer in answers:
        assert answer["data"] is None, answer
        assert _codes(answer["errors"]) == {"TRY_AGAIN"}
    assert elapsed < 2
