"""What the database asks us to retry, and what the client is told to retry.

Deadlocks, serialization failures and lost races on a new idempotency key are
retried here a few times with jitter (``with_retries``).

Faults that say the database is out of reach or too slow are the client's to
retry, and each layer that talks to the database turns them into ``TryAgain``
with ``try_again`` (the driver pool in ``unit_of_work.fetch``, the engine in
``UnitOfWork``), so they answer ``TRY_AGAIN`` (HTTP 503 while checking a key),
never ``INTERNAL_SERVER_ERROR``:

- a lock or statement timeout: not retried here, so a request never hangs
  behind a stuck lock;
- no connection: refused, shut down, starting up, too many connections;
- a connection lost mid-request: its transaction rolled back, unless its commit
  was already done.  Which one is unknown, so it is not retried here; a write
  that takes an idempotency key answers a retry with the same key with the
  result it committed, if it did, and runs it otherwise: never twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from asyncpg import InternalClientError, PostgresError
from sqlalchemy.exc import DBAPIError

RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
TIMEOUTS = frozenset({"55P03", "57014"})  # lock_not_available, query_canceled
UNREACHABLE = frozenset(
    {"57P01", "57P02", "57P03", "53300"}  # terminated, crashed, starting up, too many clients
)
"""Besides every state of class 08, connection exception."""
MAX_ATTEMPTS = 4

T = TypeVar("T")


BUSY = "The service is busy; retry the request."
"""What a client hears when no database connection came free in time: nothing ran."""
TIMED_OUT = "The database is busy; retry the request."
LOST = (
    "The database cannot be reached or the connection was lost; retry the request"
    " (a write with the same idempotency key)."
)


class TryAgain(Exception):  # noqa: N818  (the name is the message clients act on)
    """The database was out of reach or could not answer in time; the client may retry."""


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) if code else None


def constraint_name(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what SQLAlchemy wrapped, and what each was raised from or while handling."""
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def _unreachable(exc: BaseException) -> bool:
    for candidate in _chain(exc):
        code = sqlstate(candidate) or ""
        if code in UNREACHABLE or code.startswith("08"):
            return True
        if isinstance(candidate, DBAPIError) and candidate.connection_invalidated:
            return True
        # Refused, reset, no such socket, connect timed out: asyncpg raises these as
        # they come, from the pool's connect or mid-statement.
        if isinstance(candidate, OSError):
            return True
        # A connection left mid-operation by a fault (asyncpg refuses to go on with it).
        if isinstance(candidate, InternalClientError):
            return True
    return False


def try_again(exc: BaseException) -> TryAgain | None:
    """``exc`` as what the client should hear, if it is a fault to retry later; else ``None``."""
    if sqlstate(exc) in TIMEOUTS:
        return TryAgain(TIMED_OUT)
    if _unreachable(exc):
        return TryAgain(LOST)
    return None


def _retryable(exc: DBAPIError | PostgresError) -> bool:
    # Two different requests racing on one new idempotency key: the loser retries
    # and then finds the winner's key.
    if sqlstate(exc) == "23505" and constraint_name(exc) == "idempotency_keys_pkey":
        return True
    return sqlstate(exc) in RETRYABLE


async def with_retries(attempt: Callable[[], Awaitable[T]]) -> T:
    for number in range(1, MAX_ATTEMPTS + 1):
        try:
            return await attempt()
        # PostgresError: UnitsOfWork.call talks to the driver directly.
        except (DBAPIError, PostgresError) as exc:
            if not _retryable(exc):
                raise
            if number == MAX_ATTEMPTS:
                raise TryAgain("The request kept conflicting; retry it.") from exc
            await asyncio.sleep(random.uniform(0.001, 0.01) * number)  # noqa: S311
    raise AssertionError("unreachable")
