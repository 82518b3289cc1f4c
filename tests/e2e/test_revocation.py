"""Revocation is immediate: a revoked key or a deactivated user is refused within a
second, on every worker.

The services here cache checked keys for a minute (``AUTH_CACHE_SECONDS=60``), so
only the notification PostgreSQL sends at commit (migration 0007) can explain a
refusal within a second.  The control test shows that the cache is really used: a
revocation committed with its notification suppressed goes unnoticed.  And a
listener that is gone never makes a revocation late: the cache is then not used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings, app_url_for
from app.domain.identity import Role
from app.main import create_app
from app.services import admin
from app.services.api_keys import parse_key_ref
from app.services.key_changes import APPLICATION_NAME, KeyChangeListener
from bench.service import Service, free_port
from tests.accounts import UPDATE_USER, new_user, refresh, signed_in
from tests.conftest import Tenant, new_tenant, pooled_settings, post_graphql
from tests.e2e.test_cli import json_of, run_cli
from tests.helpers import CREATE_CUSTOMER, VIEWER, error_codes

CACHE_SECONDS = 60
WITHIN_SECONDS = 1.0
POLL_SECONDS = 0.05

Answers = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass
class Cached:
    """The service, in-process, caching checked keys for a minute."""

    http: httpx.AsyncClient
    listener: KeyChangeListener | None


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Cached]:
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Cached(client, app.starlette.state.key_changes)


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(POLL_SECONDS)


@pytest.fixture(params=["direct", "pgbouncer"])
async def cached(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Cached]:
    """Connected directly, or through PgBouncer (the listener then goes direct)."""
    if request.param == "direct":
        settings = Settings(database_url=database_url, auth_cache_seconds=CACHE_SECONDS)
    else:
        bouncer = request.getfixturevalue("pgbouncer")
        settings = pooled_settings(database_url, bouncer, auth_cache_seconds=CACHE_SECONDS)
        listens_at, serves_at = make_url(settings.listen_url()), make_url(settings.service_url())
        assert (listens_at.port, serves_at.port) == (make_url(database_url).port, bouncer.port)
    async with serving(settings) as service:
        assert service.listener is not None
        assert service.listener.backend_pid is not None, "listening from the start"
        yield service


def refused(answer: dict[str, Any]) -> bool:
    return answer["data"] is None and error_codes(answer) == ["UNAUTHENTICATED"]


async def refused_within(answers: Answers) -> float:
    """Seconds from now until a round of ``answers`` is all refused; fails past a second."""
    start = time.monotonic()
    while True:
        began = time.monotonic() - start
        got = await answers()
        if all(refused(answer) for answer in got):
            return began
        assert began < WITHIN_SECONDS, f"still served {began:.2f} s after the revocation: {got}"
        await asyncio.sleep(POLL_SECONDS)


def read_and_write(http: httpx.AsyncClient, token: str, rounds: int = 1) -> Answers:
    """A viewer query and a customer creation with ``token``, ``rounds`` times."""

    async def answers() -> list[dict[str, Any]]:
        got = []
        for n in range(rounds):
            got.append(await post_graphql(http, VIEWER, token=token))
            created = await post_graphql(
                http, CREATE_CUSTOMER, {"input": {"name": f"Late {n}"}}, token=token
            )
            got.append(created)
        return got

    return answers


async def served(http: httpx.AsyncClient, token: str, role: Role = Role.CASHIER) -> None:
    """A read and a write with ``token`` succeed (and so the key is cached)."""
    answer = await post_graphql(http, VIEWER, token=token)
    assert answer["data"]["viewer"]["role"] == role.name, answer
    created = await post_graphql(http, CREATE_CUSTOMER, {"input": {"name": "Warm"}}, token=token)
    assert created["data"]["createCustomer"]["__typename"] == "CustomerCreated", created


async def revoke_silently(owner_db: AsyncEngine, token: str) -> None:
    """Revoke ``token`` as ``admin.revoke_key`` does, with no notification sent:
    ``session_replication_role = replica`` skips ordinary triggers, for this
    transaction only (the test server's owner is a superuser)."""
    ref = parse_key_ref(token)
    assert ref is not None
    async with owner_db.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(
            text(
                "UPDATE api_keys SET revoked_at = now()"
                " WHERE business_id = :b AND id = :k AND revoked_at IS NULL"
            ),
            {"b": ref.business_id, "k": ref.key_id},
        )


async def listener_pids(owner_db: AsyncEngine) -> list[int]:
    """The listeners' server processes in this database, found by application name."""
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE application_name = :name AND datname = current_database() ORDER BY pid"
            ),
            {"name": APPLICATION_NAME},
        )
        return [row.pid for row in rows]


# --- One process --------------------------------------------------------------------


async def test_a_revoked_key_is_refused_within_a_second_for_reads_and_writes(
    cached: Cached, owner_db: AsyncEngine
) -> None:
    tenant = await new_tenant(owner_db, cached.http)
    token = tenant.keys[Role.CASHIER]
    await served(cached.http, token)

    await admin.revoke_key(owner_db, token)

    assert await refused_within(read_and_write(cached.http, token)) < WITHIN_SECONDS
    assert all(refused(answer) for answer in await read_and_write(cached.http, token, 3)())
    await served(cached.http, tenant.keys[Role.OWNER], Role.OWNER)


async def test_a_key_given_a_weaker_role_is_held_to_it_within_a_second(
    cached: Cached, owner_db: AsyncEngine
) -> None:
    tenant = await new_tenant(owner_db, cached.http)
    token = tenant.keys[Role.CASHIER]
    await served(cached.http, token)
    ref = parse_key_ref(token)
    assert ref is not None

    async with owner_db.begin() as connection:
        await connection.execute(
            text("UPDATE api_keys SET role = 'viewer' WHERE business_id = :b AND id = :k"),
            {"b": ref.business_id, "k": ref.key_id},
        )

    async def forbidden_write() -> bool:
        answer = await post_graphql(
            cached.http, CREATE_CUSTOMER, {"input": {"name": "No"}}, token=token
        )
        return error_codes(answer) == ["FORBIDDEN"]

    await until(forbidden_write, WITHIN_SECONDS)
    answer = await post_graphql(cached.http, VIEWER, token=token)
    assert answer["data"]["viewer"]["role"] == "VIEWER"


async def test_a_change_to_a_business_is_seen_within_a_second(
    cached: Cached, owner_db: AsyncEngine
) -> None:
    tenant = await new_tenant(owner_db, cached.http)
    token = tenant.keys[Role.VIEWER]

    async def business_name() -> str:
        answer = await post_graphql(cached.http, VIEWER, token=token)
        return str(answer["data"]["viewer"]["business"]["name"])

    assert await business_name() == "Test business"
    async with owner_db.begin() as connection:
        await connection.execute(
            text("UPDATE businesses SET name = 'Renamed' WHERE id = :b"), {"b": tenant.id}
        )

    async def renamed() -> bool:
        return await business_name() == "Renamed"

    await until(renamed, WITHIN_SECONDS)


async def test_a_revocation_without_its_notification_goes_unnoticed_until_one_comes(
    cached: Cached, owner_db: AsyncEngine
) -> None:
    """The control: the cache does serve keys, and the notification is what ends that."""
    tenant = await new_tenant(owner_db, cached.http)
    token = tenant.keys[Role.CASHIER]
    await served(cached.http, token)

    await revoke_silently(owner_db, token)

    for _ in range(3):  # past the listener's lease of one second, renewed meanwhile
        await served(cached.http, token)
        await asyncio.sleep(0.6)
    await admin.revoke_key(owner_db, token)  # already revoked: the update still notifies
    assert await refused_within(read_and_write(cached.http, token)) < WITHIN_SECONDS


async def test_with_the_listener_lost_a_revocation_is_not_late_and_the_listener_returns(
    cached: Cached, owner_db: AsyncEngine
) -> None:
    assert cached.listener is not None
    listener = cached.listener
    tenant = await new_tenant(owner_db, cached.http)
    first, second = tenant.keys[Role.CASHIER], tenant.keys[Role.VIEWER]
    await served(cached.http, first)
    lost = listener.backend_pid
    assert await listener_pids(owner_db) == [lost]

    async with owner_db.connect() as connection:
        killed = await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
        assert killed.scalar_one() is True
    await admin.revoke_key(owner_db, first)  # at once: its notification may find no one

    assert await refused_within(read_and_write(cached.http, first)) < WITHIN_SECONDS

    async def back() -> bool:
        return listener.backend_pid not in (None, lost)

    await until(back)
    assert await listener_pids(owner_db) == [listener.backend_pid]
    # Trusted again: a key checked now is served from the cache...
    answer = await post_graphql(cached.http, VIEWER, token=second)
    assert answer["data"]["viewer"]["role"] == "VIEWER"
    await revoke_silently(owner_db, second)
    answer = await post_graphql(cached.http, VIEWER, token=second)
    assert answer["data"]["viewer"]["role"] == "VIEWER", "served from the cache"
    # ...and forgotten when it changes.
    await admin.revoke_key(owner_db, second)

    async def viewer_reads() -> list[dict[str, Any]]:
        return [await post_graphql(cached.http, VIEWER, token=second)]

    assert await refused_within(viewer_reads) < WITHIN_SECONDS


async def test_a_listener_that_cannot_connect_leaves_every_key_checked_in_the_database(
    database_url: str, owner_db: AsyncEngine
) -> None:
    nowhere = make_url(app_url_for(database_url)).set(port=free_port())
    settings = Settings(
        database_url=database_url,
        auth_cache_seconds=CACHE_SECONDS,
        listen_database_url=nowhere.render_as_string(hide_password=False),
    )
    async with serving(settings) as service:
        assert service.listener is not None
        assert service.listener.backend_pid is None
        tenant = await new_tenant(owner_db, service.http)
        token = tenant.keys[Role.CASHIER]
        await served(service.http, token)

        await revoke_silently(owner_db, token)  # not even a notification

        assert all(refused(answer) for answer in await read_and_write(service.http, token)())


# --- Two workers --------------------------------------------------------------------


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[Service]:
    running = Service(
        database_url,
        workers=2,
        log_path=tmp_path / "service.log",
        log_level="WARNING",
        env={"AUTH_CACHE_SECONDS": str(CACHE_SECONDS)},
    )
    running.start()
    yield running
    running.stop()


async def test_two_workers_refuse_a_key_revoked_by_the_cli_within_a_second(
    two_workers: Service, database_url: str, owner_db: AsyncEngine
) -> None:
    async def both_listening() -> bool:
        return len(await listener_pids(owner_db)) == 2

    await until(both_listening)
    # A new connection per request: the parent deals them to the workers in turn.
    fresh = httpx.Limits(max_keepalive_connections=0)
    base = f"http://{two_workers.host}:{two_workers.port}"
    async with httpx.AsyncClient(base_url=base, limits=fresh, timeout=10) as client:
        tenant: Tenant = await new_tenant(owner_db, client)
        token = tenant.keys[Role.CASHIER]
        for _ in range(10):  # five of each on each worker
            await served(client, token)

        ref = parse_key_ref(token)
        assert ref is not None
        revoked = await asyncio.to_thread(
            run_cli, database_url, "key", "revoke", ref.public_id, "--json"
        )
        assert json_of(revoked) == {"id": ref.public_id, "revoked": True}

        every_worker = read_and_write(client, token, rounds=10)  # 20 requests in a row
        assert await refused_within(every_worker) < WITHIN_SECONDS
        assert all(refused(answer) for answer in await every_worker())
        await served(client, tenant.keys[Role.OWNER], Role.OWNER)


# --- Users --------------------------------------------------------------------------


async def test_a_user_given_a_weaker_role_then_deactivated_is_held_to_it_within_a_second(
    cached: Cached, owner_db: AsyncEngine
) -> None:
    tenant = await new_tenant(owner_db, cached.http)
    user_id, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
    session = await signed_in(cached.http, email, password)
    token = session["accessToken"]
    await served(cached.http, token)

    demoted = await tenant.data(UPDATE_USER, {"input": {"userId": user_id, "role": "VIEWER"}})
    assert demoted["updateUser"]["user"]["role"] == "VIEWER"

    async def forbidden_write() -> bool:
        answer = await post_graphql(
            cached.http, CREATE_CUSTOMER, {"input": {"name": "No"}}, token=token
        )
        return error_codes(answer) == ["FORBIDDEN"]

    await until(forbidden_write, WITHIN_SECONDS)

    await tenant.data(UPDATE_USER, {"input": {"userId": user_id, "active": False}})

    assert await refused_within(read_and_write(cached.http, token)) < WITHIN_SECONDS
    assert refused(await refresh(cached.http, session["refreshToken"]))


async def test_two_workers_refuse_a_deactivated_users_access_token_within_a_second(
    two_workers: Service, owner_db: AsyncEngine
) -> None:
    async def both_listening() -> bool:
        return len(await listener_pids(owner_db)) == 2

    await until(both_listening)
    fresh = httpx.Limits(max_keepalive_connections=0)
    base = f"http://{two_workers.host}:{two_workers.port}"
    async with httpx.AsyncClient(base_url=base, limits=fresh, timeout=10) as client:
        tenant: Tenant = await new_tenant(owner_db, client)
        user_id, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
        session = await signed_in(client, email, password)
        token = session["accessToken"]
        for _ in range(10):  # five of each on each worker: cached on both
            await served(client, token)

        deactivated = await tenant.data(
            UPDATE_USER, {"input": {"userId": user_id, "active": False}}
        )
        assert deactivated["updateUser"]["user"]["active"] is False

        every_worker = read_and_write(client, token, rounds=10)
        assert await refused_within(every_worker) < WITHIN_SECONDS
        assert all(refused(answer) for answer in await every_worker())
        assert refused(await refresh(client, session["refreshToken"]))
        await served(client, tenant.keys[Role.OWNER], Role.OWNER)
