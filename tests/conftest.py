"""Shared fixtures: one migrated scratch database per session, a fresh tenant per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.driver_pool import DriverPool
from app.db.engine import owner_engine, service_driver_pool, service_engine
from app.db.migrations import upgrade
from app.domain.identity import Role
from app.main import create_app
from app.services import admin
from tests.db import create_database, drop_database, server_url


@pytest.fixture(scope="session")
def server() -> str:
    return server_url()


@pytest.fixture(scope="session")
def database_url(server: str) -> Iterator[str]:
    url = create_database(server)
    upgrade(url)
    yield url
    drop_database(server, url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, auth_cache_seconds=0, pool_size=20)


@pytest.fixture(scope="session")
async def owner_db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = owner_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app_db(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The service role's engine: RLS applies, no table ownership."""
    engine = service_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app_pool(settings: Settings, app_db: AsyncEngine) -> AsyncIterator[DriverPool]:
    """The service role's driver pool, as the hot paths use it."""
    pool = service_driver_pool(settings, app_db)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real ASGI app (lifespan included), in-process."""
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@dataclass
class Tenant:
    """A business with one key per role, and a GraphQL caller for each."""

    id: int
    keys: dict[Role, str]
    http: httpx.AsyncClient

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, role: Role = Role.OWNER
    ) -> dict[str, Any]:
        """POST a GraphQL request as ``role``; the whole JSON answer."""
        return await post_graphql(self.http, query, variables, token=self.keys[role])

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, role: Role = Role.OWNER
    ) -> dict[str, Any]:
        """The ``data`` of a request that must not produce errors."""
        answer = await self.gql(query, variables, role=role)
        assert "errors" not in answer, answer
        return answer["data"]  # type: ignore[no-any-return]


async def post_graphql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def new_tenant(
    owner_db: AsyncEngine, http: httpx.AsyncClient, *, currency: str = "INR", terms_days: int = 30
) -> Tenant:
    business_id = await admin.create_business(
        owner_db, name="Test business", currency=currency, terms_days=terms_days
    )
    keys = {}
    for role in Role:
        keys[role] = (await admin.create_key(owner_db, business_id=business_id, role=role)).token
    return Tenant(id=business_id, keys=keys, http=http)


@pytest.fixture
async def tenant(owner_db: AsyncEngine, http: httpx.AsyncClient) -> Tenant:
    return await new_tenant(owner_db, http)


@pytest.fixture
async def other_tenant(owner_db: AsyncEngine, http: httpx.AsyncClient) -> Tenant:
    return await new_tenant(owner_db, http)
