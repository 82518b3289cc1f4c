"""A small pool of bare asyncpg connections for the hot paths.

Purchases, payments, restocks and page reads each borrow a connection for one
round trip.  Python's CPU, not PostgreSQL, limits this service
(DESIGN.md section 2), and borrowing cost more CPU than the statement itself:
measured sequentially on this machine, a checkout through SQLAlchemy's pool
added ~100 us per request (greenlet switch, pool events), asyncpg's own pool
~40 us plus a reset round trip on every release.  This pool does only what those
paths need:

- at most ``size`` connections, opened when needed, each with the service's
  timeouts (``statement_timeout``, ``lock_timeout``) as session settings;
- a free connection is handed to the longest waiter first; a wait longer than
  ``timeout`` raises ``PoolTimeout`` (the client hears TRY_AGAIN or a 503);
- a connection is lent bound to the borrower's business: ``connection(business_id)``,
  the only way the service borrows one (``acquire``, its first step, is used alone
  only by the pool's tests), sets the session's ``app.business_id``
  (``set_config(..., false)``) unless the connection is known to hold that value
  already, so Row Level Security sees the borrower's tenant for everything it
  sends.  A read is then its statement alone, one round trip, instead of BEGIN
  with the binding, the statement and ROLLBACK; a switch of tenant costs the
  round trip the BEGIN used to.  The known binding is forgotten before it is
  changed and recorded only once PostgreSQL confirmed it;
- a connection is never reused unless it came back idle: one that is closed,
  was left inside a transaction, or whose borrower failed other than by a
  PostgreSQL error (cancelled, timed out, connection lost) is closed and
  forgotten, so the next borrower always starts clean and no lock can outlive
  its transaction.

Units of work that need SQLAlchemy (the less frequent mutations, admin) keep
the engine's pool; both pools connect as the same role with the same settings.
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
    # jsonb arrives as text; the hot functions answer in jsonb.
    await connection.set_type_codec(
        "jsonb", schema="pg_catalog", format="text",
        encoder=lambda value: orjson.dumps(value).decode(), decoder=orjson.loads,
    )  # fmt: skip


_BIND_TENANT = "SELECT set_config('app.business_id', $1, false)"


class DriverPool:
    def __init__(self, connect_kwargs: Mapping[str, Any], *, size: int, timeout: float) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one connection")
        self._connect_kwargs = dict(connect_kwargs)
        self.size = size
        self.timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        self._opened = 0
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque()
        )
        self._closed = False
        self._tenants: dict[asyncpg.Connection, int] = {}
        """The business each connection's session is known to be bound to."""

    @property
    def opened(self) -> int:
        """Connections open or being opened, idle or lent."""
        return self._opened

    @asynccontextmanager
    async def connection(self, business_id: int) -> AsyncIterator[asyncpg.Connection]:
        """A connection whose session is bound to ``business_id``."""
        connection = await self.acquire()
        try:
            if self._tenants.get(connection) != business_id:
                self._tenants.pop(connection, None)
                await connection.execute(_BIND_TENANT, str(int(business_id)))
                self._tenants[connection] = business_id
            yield connection
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
        if self._idle:
            return self._idle.pop()
        if self._opened < self.size:
            return await self._open(reserved=False)
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        try:
            handed = await asyncio.wait_for(waiter, self.timeout)
        except TimeoutError:
            self._return_unclaimed(waiter)
            raise PoolTimeout(f"no database connection came free in {self.timeout:g} s") from None
        except BaseException:
            self._return_unclaimed(waiter)
            raise
        finally:
            with suppress(ValueError):
                self._waiters.remove(waiter)
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
        self._tenants.clear()
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
        self._tenants.pop(connection, None)
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

    def _return_unclaimed(self, waiter: asyncio.Future[asyncpg.Connection | None]) -> None:
        """A waiter that gave up after being handed a connection or a slot gives it back."""
        if waiter.done() and not waiter.cancelled():
            handed = waiter.result()
            if handed is None:
                self._free_slot()
            else:
                self.release(handed)
