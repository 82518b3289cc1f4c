"""Bounded retries for the failures PostgreSQL asks us to retry.

Deadlocks, serialization failures and lost races on a new idempotency key are
retried a few times with jitter.  A lock or statement timeout is not retried
here: the client gets ``TryAgain`` at once, so a request never hangs behind a
stuck lock.  A connection lost mid-request is ``TryAgain`` too: its transaction
rolled back unless its commit was already done, and in that case a retry with the
same idempotency key answers with the original result.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asyncpg import PostgresError
from asyncpg.exceptions import ConnectionDoesNotExistError
from sqlalchemy.exc import DBAPIError

RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
TIMEOUTS = frozenset({"55P03", "57014"})  # lock_not_available, query_canceled
SHUTDOWNS = frozenset({"57P01", "57P02", "57P03"})  # terminated, crashed, starting up
MAX_ATTEMPTS = 4

T = TypeVar("T")


BUSY = "The service is busy; retry the request."
"""What a client hears when no database connection came free in time: nothing ran."""


class TryAgain(Exception):  # noqa: N818  (the name is the message clients act on)
    """The database was too busy to answer in time; the request changed nothing."""


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


def _retryable(exc: DBAPIError | PostgresError) -> bool:
    # Two different requests racing on one new idempotency key: the loser retries
    # and then finds the winner's key.
    if sqlstate(exc) == "23505" and constraint_name(exc) == "idempotency_keys_pkey":
        return True
    return sqlstate(exc) in RETRYABLE


def _connection_lost(exc: BaseException) -> bool:
    code = sqlstate(exc) or ""
    if code in SHUTDOWNS or code.startswith("08"):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", exc)
    return any(
        isinstance(candidate, ConnectionDoesNotExistError | ConnectionError)
        for candidate in (exc, orig, getattr(orig, "__cause__", None))
    )


async def with_retries(attempt: Callable[[], Awaitable[T]]) -> T:
    for number in range(1, MAX_ATTEMPTS + 1):
        try:
            return await attempt()
        # PostgresError: UnitsOfWork.call talks to the driver directly.
        except (DBAPIError, PostgresError, ConnectionDoesNotExistError) as exc:
            if sqlstate(exc) in TIMEOUTS:
                raise TryAgain("The database is busy; retry the request.") from exc
            if _connection_lost(exc):
                raise TryAgain(
                    "The database connection was lost; retry the request with the same"
                    " idempotency key."
                ) from exc
            if not _retryable(exc):
                raise
            if number == MAX_ATTEMPTS:
                raise TryAgain("The request kept conflicting; retry it.") from exc
            await asyncio.sleep(random.uniform(0.001, 0.01) * number)  # noqa: S311
    raise AssertionError("unreachable")
