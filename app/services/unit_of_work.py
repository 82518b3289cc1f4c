"""One transaction per use case, with the tenant bound once.

``async with uow:`` checks out a connection, begins a transaction and binds the
tenant with ``set_config('app.business_id', …, true)`` (transaction-local, so a
pooled connection never leaks a tenant).  Leaving the block rolls back unless
``await uow.commit()`` was called: nothing is ever half-written.

Reads of whole pages (lists, balances, overdue status) use ``read``: one
query, its own implicit transaction, sent through the driver directly, which
costs about a third of the CPU of the same query through SQLAlchemy.

Hot write paths (purchase, payment, restock) run as a single call to a
server-side function that binds the tenant itself, locks, validates and writes.
``call`` sends that call outside an explicit transaction block, so PostgreSQL
runs it as one implicit transaction: one round trip, during which the row locks
are held and after which they are already released.

``call`` and ``read`` borrow a bare asyncpg connection from the driver pool
(``app.db.driver_pool``): on the hot path SQLAlchemy's execution layer cost
about as much Python time as the rest of the request (measured ~0.7 ms against
~0.3 ms of CPU per call on this machine), its pool checkout another ~0.1 ms, and
the Python process, not PostgreSQL, limits throughput (DESIGN.md section 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.driver_pool import DriverPool
from app.services.retry import with_retries

TENANT = "current_setting('app.business_id')::bigint"
"""SQL for the bound tenant; every query filters on it as well as relying on RLS."""

_BIND_TENANT = text("SELECT set_config('app.business_id', :business_id, true)")


class UnitOfWork:
    def __init__(self, engine: AsyncEngine, business_id: int) -> None:
        self._engine = engine
        self.business_id = business_id
        self._connection: AsyncConnection | None = None
        self._committed = False

    async def __aenter__(self) -> Self:
        self._connection = await self._engine.connect()
        self._committed = False
        try:
            await self._connection.execute(_BIND_TENANT, {"business_id": str(self.business_id)})
        except BaseException:
            await self._connection.close()
            self._connection = None
            raise
        return self

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._connection

    async def execute(self, statement: Any, params: Any = None) -> Result[Any]:
        result: Result[Any] = await self.connection.execute(statement, params)
        return result

    async def commit(self) -> None:
        await self.connection.commit()
        self._committed = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if not self._committed:
                await connection.rollback()
        finally:
            await connection.close()


_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


class DriverStatement:
    """SQL written with ``:name`` parameters, turned once into the driver's ``$n`` form."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def position(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        self.sql = _PARAMETER.sub(position, sql)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


class UnitsOfWork:
    """Per-request factory, bound to the caller's business.

    ``UnitOfWork`` transactions go through the SQLAlchemy engine; the hot calls and
    page reads (``call``, ``read``) through the bare driver pool (``app.db.driver_pool``).
    """

    def __init__(self, engine: AsyncEngine, pool: DriverPool, business_id: int) -> None:
        self._engine = engine
        self._pool = pool
        self.business_id = business_id

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._engine, self.business_id)

    async def call(self, statement: DriverStatement, params: dict[str, Any]) -> Any:
        """Run one self-contained server-side function call; return its scalar result.

        The function must bind the tenant from ``business_id`` as its first act.
        No transaction block is opened: the statement is its own transaction.
        Deadlocks and serialization failures are retried.
        """
        args = statement.args({**params, "business_id": self.business_id})
        pool = self._pool

        async def attempt() -> Any:
            async with pool.connection(self.business_id) as driver:
                return await driver.fetchval(statement.sql, *args)

        return await with_retries(attempt)

    async def read(self, query: str, *args: Any) -> list[Any]:
        """The rows of one read-only ``query`` (``$1``-style parameters), tenant bound.

        One round trip: the statement alone, on a connection the pool lends bound to
        the tenant (``app.db.driver_pool``), so PostgreSQL runs it as its own implicit
        transaction with one snapshot.  It used to take three (BEGIN READ ONLY with
        the binding, the query, ROLLBACK).

        The query runs with its generic plan, planned once per connection
        (``plan_cache_mode`` is ``force_generic_plan`` for the pool's sessions): read
        queries are written to need no parameter values to be planned well (limits and
        bounds arrive as parameters, tenants through the setting), and re-planning the
        bigger ones for every execution cost more than running them.
        """
        async with self._pool.connection(self.business_id) as driver:
            rows: list[Any] = await driver.fetch(query, *args)
        return rows
