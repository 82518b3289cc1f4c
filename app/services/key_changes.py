"""Key and user changes reach every worker's cache within a second: each worker listens.

PostgreSQL announces every change to a key, a business, a user or a session on
``credit_ledger_auth`` as it commits (migrations 0007 and 0012).  Each worker keeps
one connection of its own listening there and tells its ``Authenticator`` what to
forget.

A notification sent while nobody listens is lost, so the cache is trusted only on a
lease: the listener pings PostgreSQL every quarter second, and each answer lets the
cache be used until one second after that ping was sent (PostgreSQL sends what a
session was notified of before answering its next query).  A connection that closes
(its backend terminated, PostgreSQL restarted) withdraws the lease at once; one that
goes silent lets it run out.  Without a lease every request checks its key in the
database, the listener reconnects in the background, and the cache starts empty.

``LISTEN`` needs a session of its own, which a transaction-pooling PgBouncer cannot
give, so this connection goes to PostgreSQL directly (``Settings.listen_url``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import NamedTuple

import asyncpg
from sqlalchemy.engine import make_url

from app.domain.ids import parse_id
from app.services.api_keys import PREFIX, parse_key_ref
from app.services.authenticator import Authenticator

CHANNEL = "credit_ledger_auth"
APPLICATION_NAME = "credit-ledger-listener"
PING_SECONDS = 0.25
LEASE_SECONDS = 1.0
PING_TIMEOUT_SECONDS = 10.0
"""A silent connection loses its lease after a second; it is replaced after this."""
RETRY_SECONDS = (0.1, 2.0)
"""The first and the longest wait between attempts to reconnect."""

logger = logging.getLogger("credit_ledger.key_changes")


USER_PREFIX = "clu"


class Scope(NamedTuple):
    """What to forget: everything without a business; a business with neither a key
    nor a user; else that key or user of the business."""

    business_id: int | None
    key_id: int | None = None
    user_id: int | None = None


def scope(payload: str) -> Scope:
    """What a notification names: a key (``cl_<business>_<key>``), a user and their
    sessions (``clu_<business>_<user>``), a business (``cl_<business>``), or, for
    anything else, everything."""
    ref = parse_key_ref(payload)
    if ref is not None:
        return Scope(ref.business_id, key_id=ref.key_id)
    prefix, _, rest = payload.partition("_")
    if prefix == USER_PREFIX:
        business, _, user = rest.partition("_")
        business_id, user_id = parse_id(business), parse_id(user)
        if business_id is None or user_id is None:
            return Scope(None)
        return Scope(business_id, user_id=user_id)
    return Scope(parse_id(rest) if prefix == PREFIX else None)


class KeyChangeListener:
    def __init__(self, url: str, authenticator: Authenticator, *, connect_timeout: float) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._authenticator = authenticator
        self._connect_timeout = connect_timeout
        self._task: asyncio.Task[None] | None = None
        self._backend_pid: int | None = None
        self._outage_logged = False

    @property
    def backend_pid(self) -> int | None:
        """The listening server process once it has answered; ``None`` while disconnected."""
        return self._backend_pid

    async def start(self) -> None:
        """Connect once before serving, then keep listening (or reconnecting) in the background."""
        connection = await self._connect()
        self._task = asyncio.create_task(self._keep_listening(connection))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _keep_listening(self, connection: asyncpg.Connection | None) -> None:
        while True:
            delay = RETRY_SECONDS[0]
            while connection is None:
                await asyncio.sleep(delay)
                delay = min(2 * delay, RETRY_SECONDS[1])
                connection = await self._connect()
            await self._listen(connection)
            connection = await self._connect()

    async def _connect(self) -> asyncpg.Connection | None:
        """A connection listening, whose first ping answered; ``None`` on failure."""
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout,
                server_settings={"application_name": APPLICATION_NAME},
            )
        except Exception as exc:  # whatever it is, the answer is to try again later
            self._outage(exc)
            return None
        try:
            connection.add_termination_listener(lambda _: self._authenticator.distrust_cache())
            await connection.add_listener(CHANNEL, self._notified)
            await self._ping(connection)
        except asyncio.CancelledError:
            self._lost(connection)
            raise
        except Exception as exc:
            self._lost(connection)
            self._outage(exc)
            return None
        if self._outage_logged:
            logger.info("listening for key changes again")
            self._outage_logged = False
        return connection

    async def _listen(self, connection: asyncpg.Connection) -> None:
        """Ping until the connection fails; the cache is trusted only meanwhile."""
        try:
            while True:
                await asyncio.sleep(PING_SECONDS)
                await self._ping(connection)
        except Exception as exc:
            self._outage(exc)
        finally:  # failed, or cancelled because the service is stopping
            self._lost(connection)

    async def _ping(self, connection: asyncpg.Connection) -> None:
        sent = time.monotonic()
        await connection.fetchval("SELECT 1", timeout=PING_TIMEOUT_SECONDS)
        self._authenticator.trust_cache_until(sent + LEASE_SECONDS)
        self._backend_pid = connection.get_server_pid()

    def _lost(self, connection: asyncpg.Connection) -> None:
        self._backend_pid = None
        self._authenticator.distrust_cache()
        connection.terminate()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        named = scope(str(payload))
        self._authenticator.forget(named.business_id, key_id=named.key_id, user_id=named.user_id)

    def _outage(self, exc: Exception) -> None:
        if not self._outage_logged:
            logger.warning(
                "not listening for key changes (%s: %s); every request checks its key"
                " in the database until the listener reconnects",
                type(exc).__name__,
                exc,
            )
            self._outage_logged = True
