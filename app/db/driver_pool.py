"""A small pool of bare asyncpg connections for the hot paths.

Purchases, payments, restocks, page reads and key lookups each borrow a
connection for one statement.  Python's CPU, not PostgreSQL, limits this
service (DESIGN.md section 2), and borrowing cost more CPU than the statement
itself: measured sequentially on this machine, a checkout through SQLAlchemy's
pool added ~100 us per request (greenlet switch, pool events), asyncpg's own pool
~40 us plus a reset round trip on every release.  This pool does only what those
paths need:

- at most ``size`` connections, opened when needed;
- a free connection is handed to the longest waiter first; a wait longer than
  ``timeout`` raises ``PoolTimeout`` (the client hears TRY_AGAIN or a 503);
- ``fetch``/``fetchrow``/``fetchval`` run one statement as its own transaction.
  The pool binds no tenant and keeps no session state: a statement that touches
  tenant rows binds the tenant itself, transaction-locally (the write functions
  as their first act, reads through ``app.services.unit_of_work.ReadStatement``),
  so whatever session it lands on, it sees only its own binding;
- a connection is never reused unless it came back idle: one that is closed,
  was left inside a transaction, or whose borrower failed other than by a
  PostgreSQL error (cancelled, timed out, connection lost) is closed and
  forgotten, so the next borrower always starts clean and no lock can outlive
  its transaction;
- an idle connection the server has closed since (a restart, an administrator)
  is forgotten when it comes up for lending and another one is lent or opened:
  asyncpg notices the server hanging up while the connection waits, so the check
  costs no round trip, and the first request after a restart never meets a
  stale connection.

Behind a transaction-pooling PgBouncer (``begin`` given, ``DB_POOLER=transaction``)
a session is only ours for one transaction, and asyncpg sends a statement in two
round trips (prepare, then execute), each ending in a Sync after which PgBouncer
may hand the next one to another server.  So there each statement runs inside
``begin`` (``BEGIN`` plus the service's ``SET LOCAL`` timeouts, one round trip)
and ``COMMIT``, with asyncpg's statement cache off (unnamed statements that live
only inside that transaction).  Directly connected, a statement is one round trip
with its plan cached per connection.

Units of work that need SQLAlchemy (the less frequent mutations, admin) keep
the engine's pool (``app.db.engine``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
import orjson


class PoolTimeout(Exception):  # noqa: N818  (the name says what happened)
    """No connection came free within the pool's timeout; nothing was sent."""


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb arrives as text; the hot functions answer in jsonb.  A pg_catalog type
    # needs no introspection query, so this sends nothing to the server.
    await connection.set_type_codec(
        "jsonb", schema="pg_catalog", format="text",
        encoder=lambda value: orjson.dumps(value).decode(), decoder=orjson.loads,
    )  # fmt: skip


GOING_AWAY = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
"""Errors after which the server closes the connection (SQLSTATE class 08, 57P01-03)."""


class DriverPool:
    def __init__(
        self,
        connect_kwargs: Mapping[str, Any],
        *,
        size: int,
        timeout: float,
        begin: str | None = None,
    ) -> None:
        """``begin``: behind a transaction pooler, the SQL that opens each statement's
        transaction (``BEGIN`` and its ``SET LOCAL``s); ``None`` when connected directly."""
        if size < 1:
            raise ValueError("a pool needs at least one connection")
        self._connect_kwargs = dict(connect_kwargs)
        self.size = size
        self.timeout = timeout
        self._begin = begin
        self._idle: list[asyncpg.Connection] = []
        self._opened = 0
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque()
        )
        self._closed = False
        self.waits = 0
        """Borrowers that found no free connection and waited (``app.metrics``)."""
        self.timeouts = 0
        """Borrowers that gave up waiting."""

    @property
    def opened(self) -> int:
        """Connections open or being opened, idle or lent."""
        return self._opened

    @property
    def in_use(self) -> int:
        """Connections lent or being opened."""
        return self._opened - len(self._idle)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """The rows of one statement, run as its own transaction."""
        rows: list[asyncpg.Record] = await self._run("fetch", sql, args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run("fetchrow", sql, args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, args)

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        async with self.connection() as connection:
            try:
                return await self._send(connection, method, sql, args)
            except asyncpg.InterfaceError as exc:
                # A connection lent open and closed by a fault before the statement left
                # (asyncpg refuses with "connection is closed"): nothing ran, and the
                # database is going away, as when a connection is lost mid-statement.
                if connection.is_closed():
                    raise asyncpg.ConnectionDoesNotExistError(str(exc)) from exc
                raise

    async def _send(
        self, connection: asyncpg.Connection, method: str, sql: str, args: tuple[Any, ...]
    ) -> Any:
        if self._begin is None:
            return await getattr(connection, method)(sql, *args)
        await connection.execute(self._begin)
        try:
            result = await getattr(connection, method)(sql, *args)
        except asyncpg.PostgresError:
            if not connection.is_closed():
                await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")
        return result

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection lent for the block; released, or discarded if its state is unknown."""
        connection = await self.acquire()
        try:
            yield connection
        except GOING_AWAY:
            # The server said it is closing the connection (shut down, crashed, a
            # connection fault): it may still look open for a moment; never lend it again.
            self._discard(connection)
            raise
        except asyncpg.PostgresError:
            # The server answered: the connection is idle again, or inside a failed
            # transaction, which release notices.
            self.release(connection)
            raise
        except BaseException:
            # Cancelled, timed out or broken mid-statement: its state is unknown.
            self._discard(connection)
            raise
        self.release(connection)

    async def acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise RuntimeError("the pool is closed")
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._discard(connection)
        if self._opened < self.size:
            return await self._open(reserved=False)
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        self.waits += 1
        try:
            handed = await asyncio.wait_for(waiter, self.timeout)
        except TimeoutError:
            self.timeouts += 1
            self._give_up(waiter)
            raise PoolTimeout(f"no database connection came free in {self.timeout:g} s") from None
        except BaseException:
            self._give_up(waiter)
            raise
        # None: a lent connection was discarded and its slot passed to this waiter.
        return handed if handed is not None else await self._open(reserved=True)

    def release(self, connection: asyncpg.Connection) -> None:
        """Give a connection back; one that is closed or mid-transaction is dropped."""
        if connection.is_closed() or connection.is_in_transaction() or self._closed:
            self._discard(connection)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def close(self) -> None:
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the pool is closed"))
        idle, self._idle = self._idle, []
        for connection in idle:
            self._opened -= 1
            with suppress(Exception):
                await connection.close(timeout=2)

    async def _open(self, *, reserved: bool) -> asyncpg.Connection:
        """A new connection; ``reserved``: its slot is already counted in ``opened``."""
        if not reserved:
            self._opened += 1
        try:
            connection: asyncpg.Connection = await asyncpg.connect(**self._connect_kwargs)
            await _init_connection(connection)
        except BaseException:
            self._free_slot()
            raise
        return connection

    def _discard(self, connection: asyncpg.Connection) -> None:
        connection.terminate()  # no round trip: the server rolls back what was open
        self._free_slot()

    def _free_slot(self) -> None:
        """A slot came free: the longest waiter gets it (and opens a connection), else it goes."""
        while self._waiters and not self._closed:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._opened -= 1

    def _give_up(self, waiter: asyncio.Future[asyncpg.Connection | None]) -> None:
        """A waiter that stopped waiting leaves the queue and gives back what it was handed.

        Only here can a waiter still be queued (handing pops it first), so a served
        waiter never searches the queue: ``deque.remove`` of an absent future formats
        its ``repr`` into the error (bench/README.md, *Runs*, 2026-12-05, third machine).
        """
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter.done() and not waiter.cancelled():
            handed = waiter.result()
            if handed is None:
                self._free_slot()
            else:
                self.release(handed)
