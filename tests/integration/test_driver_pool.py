"""The hot paths' connection pool: bounded, fair, stateless, never lends a dirty connection."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.config import Settings
from app.db.driver_pool import DriverPool, PoolTimeout
from app.db.engine import service_driver_pool, service_engine
from app.services.retry import try_again


@pytest.fixture
async def pool_of_one(settings: Settings) -> DriverPool:
    engine = service_engine(settings)
    pool = service_driver_pool(
        Settings(database_url=settings.database_url, pool_size=1, pool_timeout_seconds=0.3),
        engine,
    )
    yield pool  # type: ignore[misc]
    await pool.close()
    await engine.dispose()


async def backend_pid(pool: DriverPool) -> int:
    async with pool.connection() as connection:
        return int(await connection.fetchval("SELECT pg_backend_pid()"))


async def test_connections_carry_the_service_role_and_timeouts(pool_of_one: DriverPool) -> None:
    async with pool_of_one.connection() as connection:
        row = await connection.fetchrow(
            "SELECT current_user AS role, current_setting('lock_timeout') AS lock_timeout,"
            " current_setting('statement_timeout') AS statement_timeout, '{\"a\": 1}'::jsonb AS j"
        )
    assert row is not None
    assert row["role"] == "credit_ledger_app"
    assert row["lock_timeout"] == "2s"
    assert row["statement_timeout"] == "5s"
    assert row["j"] == {"a": 1}


async def test_an_idle_connection_is_lent_again(pool_of_one: DriverPool) -> None:
    assert await backend_pid(pool_of_one) == await backend_pid(pool_of_one)
    assert pool_of_one.opened == 1


async def test_a_borrower_past_the_timeout_gets_pool_timeout(pool_of_one: DriverPool) -> None:
    async with pool_of_one.connection():
        with pytest.raises(PoolTimeout):
            await pool_of_one.acquire()
    assert pool_of_one.opened == 1


async def test_waiters_are_served_in_arrival_order(pool_of_one: DriverPool) -> None:
    served: list[int] = []

    async def borrow(number: int) -> None:
        async with pool_of_one.connection():
            served.append(number)
            await asyncio.sleep(0.01)

    held = await pool_of_one.acquire()
    waiting = []
    for number in range(3):
        waiting.append(asyncio.create_task(borrow(number)))
        await asyncio.sleep(0.01)  # each starts waiting before the next
    pool_of_one.release(held)
    await asyncio.gather(*waiting)
    assert served == [0, 1, 2]


async def test_a_connection_left_in_a_transaction_is_never_lent_again(
    pool_of_one: DriverPool,
) -> None:
    first = await pool_of_one.acquire()
    pid = await first.fetchval("SELECT pg_backend_pid()")
    await first.execute("BEGIN; SELECT set_config('app.business_id', '42', true)")
    pool_of_one.release(first)
    assert first.is_closed()
    async with pool_of_one.connection() as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") != pid
        assert not connection.is_in_transaction()


async def test_a_failed_statement_keeps_the_connection(pool_of_one: DriverPool) -> None:
    pid = await backend_pid(pool_of_one)
    with pytest.raises(asyncpg.PostgresError):
        async with pool_of_one.connection() as connection:
            await connection.fetchval("SELECT 1 / 0")
    assert await backend_pid(pool_of_one) == pid


async def test_a_cancelled_borrower_frees_its_slot_for_the_next_waiter(
    pool_of_one: DriverPool,
) -> None:
    pid = await backend_pid(pool_of_one)

    async def slow() -> None:
        async with pool_of_one.connection() as connection:
            await connection.fetchval("SELECT pg_sleep(5)")

    running = asyncio.create_task(slow())
    await asyncio.sleep(0.1)
    waiter = asyncio.create_task(backend_pid(pool_of_one))
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # The cancelled statement's connection is gone; the waiter got a fresh one.
    assert await asyncio.wait_for(waiter, 2) != pid
    assert pool_of_one.opened == 1


async def test_a_connection_closed_after_it_was_lent_is_a_lost_connection(
    pool_of_one: DriverPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault can close a connection between its lending and its statement; the caller
    hears a lost connection (SQLSTATE 08003, which the service answers TRY_AGAIN), and
    the pool opens a new one next time."""
    before = await backend_pid(pool_of_one)
    acquire = DriverPool.acquire

    async def closing_acquire(pool: DriverPool) -> asyncpg.Connection:
        connection = await acquire(pool)
        connection.terminate()
        return connection

    monkeypatch.setattr(DriverPool, "acquire", closing_acquire)
    with pytest.raises(asyncpg.ConnectionDoesNotExistError) as raised:
        await pool_of_one.fetchval("SELECT 1")
    assert raised.value.sqlstate == "08003"
    assert try_again(raised.value) is not None
    monkeypatch.undo()
    assert await backend_pid(pool_of_one) != before


async def test_a_closed_pool_lends_nothing(pool_of_one: DriverPool) -> None:
    await backend_pid(pool_of_one)
    await pool_of_one.close()
    assert pool_of_one.opened == 0
    with pytest.raises(RuntimeError):
        await pool_of_one.acquire()


async def test_a_statements_tenant_binding_ends_with_it(pool_of_one: DriverPool) -> None:
    pid = await backend_pid(pool_of_one)
    bound = await pool_of_one.fetchval(
        "SELECT current_setting('app.business_id') FROM"
        " (SELECT set_config('app.business_id', '5', true)) AS binding"
    )
    assert bound == "5"
    unbound = await pool_of_one.fetchrow(
        "SELECT nullif(current_setting('app.business_id', true), '') AS business,"
        " pg_backend_pid() AS pid"
    )
    assert unbound is not None
    assert (unbound["pid"], unbound["business"]) == (pid, None), "same session, nothing bound"


@pytest.fixture
async def pool_behind_a_pooler(settings: Settings) -> DriverPool:
    """A pool configured as behind PgBouncer, here connected directly to PostgreSQL."""
    pooled = Settings(database_url=settings.database_url, pool_size=1, db_pooler="transaction")
    engine = service_engine(pooled)
    pool = service_driver_pool(pooled, engine)
    yield pool  # type: ignore[misc]
    await pool.close()
    await engine.dispose()


async def test_behind_a_pooler_each_statement_is_a_transaction_with_its_timeouts(
    pool_behind_a_pooler: DriverPool,
) -> None:
    inside = await pool_behind_a_pooler.fetchrow(
        "SELECT current_setting('statement_timeout') AS statement_timeout,"
        " current_setting('lock_timeout') AS lock_timeout,"
        " current_setting('plan_cache_mode') AS plans, now() = statement_timestamp() AS alone"
    )
    assert inside is not None
    assert (inside["statement_timeout"], inside["lock_timeout"]) == ("5s", "2s")
    assert inside["plans"] == "force_generic_plan"
    assert not inside["alone"], "it ran inside a transaction begun before it"
    async with pool_behind_a_pooler.connection() as connection:
        # Nothing was sent as a startup parameter or left on the session.
        assert await connection.fetchval("SHOW statement_timeout") == "0"
        assert not connection.is_in_transaction()


async def test_behind_a_pooler_a_failed_statement_is_rolled_back(
    pool_behind_a_pooler: DriverPool,
) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pool_behind_a_pooler.fetchval("SELECT 1 / 0")
    assert await pool_behind_a_pooler.fetchval("SELECT 1") == 1
    assert pool_behind_a_pooler.opened == 1
