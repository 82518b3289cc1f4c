"""Shared fixtures: one migrated scratch database per session, a fresh tenant per test.

A module marked ``both_routes`` runs each of its tests twice: with the service
connected to PostgreSQL directly, and through a transaction-pooling PgBouncer with
two server connections (``bench/pgbouncer.py``, ``DB_POOLER=transaction``).  One
marked ``isolation`` also runs a third time, directly, on a database whose row-level
security is disabled: the service's own ``business_id`` filters must then isolate
tenants alone.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import APP_ROLE, Settings, app_url_for
from app.db.driver_pool import DriverPool
from app.db.engine import owner_engine, service_driver_pool, service_engine
from app.db.migrations import upgrade
from app.domain.identity import Role
from app.main import create_app
from app.services import admin
from bench import pgbouncer as pgbouncer_tool
from tests.db import (
    SuiteClaim,
    create_database,
    describe,
    disable_row_level_security,
    drop_database,
    server_url,
)

ROUTES = {"both_routes": ("direct", "pgbouncer"), "isolation": ("direct", "pgbouncer", "no-rls")}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "route" not in metafunc.fixturenames:
        return
    for marker, routes in ROUTES.items():
        if metafunc.definition.get_closest_marker(marker):
            metafunc.parametrize("route", routes, indirect=True, scope="session")
            return


CLAIMS: list[SuiteClaim] = []
"""This session's hold on the server (``tests.db.SuiteClaim``), released when it ends."""
RELEASED: list[str] = []


def pytest_report_header() -> str:
    return f"tests use {describe(server_url())}"


@pytest.fixture(scope="session")
def server() -> str:
    url = server_url()
    CLAIMS.append(SuiteClaim(url))
    return url


def pytest_sessionfinish() -> None:
    """After every fixture, the session's databases included, is gone."""
    while CLAIMS:
        RELEASED.append(CLAIMS.pop().release())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in RELEASED:
        terminalreporter.write_line(f"tests used {describe(server_url())}; {line}")


@pytest.fixture(scope="session")
def route(request: pytest.FixtureRequest) -> str:
    """How the service reaches PostgreSQL: ``direct`` unless a test is run several ways."""
    return getattr(request, "param", "direct")


@pytest.fixture(scope="session")
def database_url(server: str, route: str) -> Iterator[str]:
    url = create_database(server)
    upgrade(url)
    if route == "no-rls":
        disable_row_level_security(url)
    yield url
    drop_database(server, url)


@pytest.fixture(scope="session")
def pgbouncer(server: str) -> Iterator[pgbouncer_tool.PgBouncer]:
    if not pgbouncer_tool.available():
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed; .ci/run installs Debian's package")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    bouncer = pgbouncer_tool.start(server, [APP_ROLE], pool_size=2)
    yield bouncer
    bouncer.stop()


def pooled_settings(database_url: str, bouncer: pgbouncer_tool.PgBouncer, **more: Any) -> Settings:
    """The service reaching ``database_url`` through ``bouncer``."""
    return Settings(
        database_url=database_url,
        app_database_url=bouncer.url(app_url_for(database_url)),
        db_pooler="transaction",
        **more,
    )


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest, database_url: str, route: str) -> Settings:
    if route != "pgbouncer":
        return Settings(database_url=database_url, auth_cache_seconds=0, pool_size=20)
    bouncer = request.getfixturevalue("pgbouncer")
    return pooled_settings(database_url, bouncer, auth_cache_seconds=0, pool_size=20)


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


INTERNAL_ERRORS: list[str] = []
"""Answers of the ``http`` client that were internal errors, during the current test."""


async def _note_internal_errors(response: httpx.Response) -> None:
    await response.aread()
    json_answer = response.headers.get("content-type", "").startswith("application/")
    if b'"INTERNAL_SERVER_ERROR"' in response.content or (
        response.status_code >= 500 and not json_answer
    ):
        INTERNAL_ERRORS.append(f"{response.status_code} {response.text[:500]}")


@pytest.fixture(autouse=True)
def no_internal_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """``INTERNAL_SERVER_ERROR`` is for bugs: any test that gets one fails, unless it
    is marked ``internal_error`` (it breaks the service on purpose)."""
    INTERNAL_ERRORS.clear()
    yield
    if INTERNAL_ERRORS and not request.node.get_closest_marker("internal_error"):
        pytest.fail(f"the service answered an internal error: {INTERNAL_ERRORS[0]}")


@pytest.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real ASGI app (lifespan included), in-process; every
    answer is checked for internal errors (``no_internal_errors``)."""
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test",
            event_hooks={"response": [_note_internal_errors]},
        ) as client:  # fmt: skip
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
