"""One transaction per use case, with the tenant bound once.

``async with uow:`` checks out a connection, begins a transaction and binds the
tenant with ``set_config('app.business_id', …, true)`` (transaction-local, so a
pooled connection never leaks a tenant).  Leaving the block rolls back unless
``await uow.commit()`` was called: nothing is ever half-written.

Hot write paths (purchase, payment, restock) run as a single call to a
server-side function that binds the tenant itself, locks, validates and writes.
``call`` sends that call outside an explicit transaction block, so PostgreSQL
runs it as one implicit transaction: one round trip, during which the row locks
are held and after which they are already released.

``call`` takes its connection from the same pool but sends the statement
through the asyncpg driver directly: on the hot path SQLAlchemy's execution
layer cost about as much Python time as the rest of the request (measured
~0.7 ms against ~0.3 ms of CPU per call on this machine), and the Python
process, not PostgreSQL, limits throughput (DESIGN.md section 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import TextClause

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


@dataclass(frozen=True)
class _Positional:
    sql: str
    names: tuple[str, ...]


_POSITIONAL: dict[tuple[str, str], _Positional] = {}


def _positional(statement: TextClause, engine: AsyncEngine) -> _Positional:
    """``statement`` in the driver's ``$n`` form, compiled once per statement."""
    cache_key = (statement.text, engine.dialect.name)
    found = _POSITIONAL.get(cache_key)
    if found is None:
        compiled = statement.compile(dialect=engine.dialect)
        found = _POSITIONAL[cache_key] = _Positional(
            compiled.string, tuple(compiled.positiontup or ())
        )
    return found


class UnitsOfWork:
    """Per-request factory, bound to the caller's business."""

    def __init__(self, engine: AsyncEngine, business_id: int) -> None:
        self._engine = engine
        self.business_id = business_id

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._engine, self.business_id)

    async def call(self, statement: TextClause, params: dict[str, Any]) -> Any:
        """Run one self-contained server-side function call; return its scalar result.

        The function must bind the tenant from ``business_id`` as its first act.
        No transaction block is opened: the statement is its own transaction.
        Deadlocks and serialization failures are retried.
        """
        positional = _positional(statement, self._engine)
        params = {**params, "business_id": self.business_id}
        args = [params[name] for name in positional.names]

        async def attempt() -> Any:
            async with self._engine.connect() as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                try:
                    return await driver.fetchval(positional.sql, *args)
                except BaseException:
                    if driver.is_closed():  # the pool must not hand it out again
                        await connection.invalidate()
                    raise

        return await with_retries(attempt)
