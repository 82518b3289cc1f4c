"""Engines and the driver pool.  Every service transaction carries its timeouts, so no
request can hang.

Connected directly (``DB_POOLER=none``), the timeouts are session settings sent at
connect.  Behind a transaction-pooling PgBouncer (``DB_POOLER=transaction``) a
session is shared and PgBouncer refuses those startup parameters, so they are
``SET LOCAL`` at the start of every transaction instead, and prepared statements
live only inside the transaction that prepared them (docs/operations.md, "Behind a
connection pooler").
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings, async_url
from app.db.driver_pool import DriverPool


def _timeouts(settings: Settings) -> dict[str, str]:
    return {
        "statement_timeout": str(settings.statement_timeout_ms),
        "lock_timeout": str(settings.lock_timeout_ms),
        "idle_in_transaction_session_timeout": "30000",
        # Our statements are short index lookups; JIT compilation only adds latency.
        "jit": "off",
    }


_DRIVER_POOL_SETTINGS = {
    # Its reads are written to be planned well without parameter values, and planning
    # the bigger ones on every execution cost more than running them; the write
    # functions set their own plan_cache_mode (migration 0004_write_plans).
    "plan_cache_mode": "force_generic_plan",
}


def set_local(settings: dict[str, str]) -> str:
    """One statement setting ``settings`` for the current transaction, as ``SET LOCAL``."""
    for value in settings.values():  # our own configuration, checked before it is quoted
        if not (value.isdigit() or value.replace("_", "").isalpha()):
            raise ValueError(f"not a setting value: {value!r}")
    calls = (f"set_config('{name}', '{value}', true)" for name, value in settings.items())
    return f"SELECT {', '.join(calls)}"


def _connect_args(settings: Settings, extra: dict[str, str]) -> dict[str, Any]:
    """What asyncpg is told for every service connection, whichever pool opens it."""
    server_settings = {"application_name": "credit-ledger"}
    if not settings.behind_pooler:
        server_settings |= _timeouts(settings) | extra
    return {
        "server_settings": server_settings,
        "command_timeout": settings.statement_timeout_ms / 1000 + 5,
    }


def service_engine(settings: Settings) -> AsyncEngine:
    connect_args = _connect_args(settings, {})
    if settings.behind_pooler:
        # SQLAlchemy's recipe for PgBouncer: no statement caches, and a unique name for
        # each prepared statement so that two clients' statements never meet on one
        # server session; a unit of work is one transaction, so its statements stay on
        # the session that prepared them.
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__",
        }
    engine = create_async_engine(
        settings.service_url(),
        pool_size=settings.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=False,  # a ping is 3 round trips on asyncpg; see _replace_closed
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", _replace_closed)
    if settings.behind_pooler:
        timeouts = set_local(_timeouts(settings))

        @event.listens_for(engine.sync_engine, "begin")
        def _set_timeouts(connection: Connection) -> None:
            connection.exec_driver_sql(timeouts)

    return engine


def _replace_closed(dbapi_connection: Any, *_: Any) -> None:
    """Check out a pooled connection the server has closed since (a restart) as a new one.

    asyncpg notices the server hanging up while a connection waits in the pool, so
    this costs no round trip; ``DisconnectionError`` is SQLAlchemy's way for a
    checkout listener to have the connection replaced.  Without it the first unit
    of work on each stale connection failed after a restart.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def service_driver_pool(settings: Settings, engine: AsyncEngine) -> DriverPool:
    """The hot paths' pool: the same server, role and settings as ``engine``."""
    _, params = engine.dialect.create_connect_args(engine.url)
    connect = {**params, **_connect_args(settings, _DRIVER_POOL_SETTINGS)}
    begin = None
    if settings.behind_pooler:
        connect["statement_cache_size"] = 0
        begin = f"BEGIN; {set_local(_timeouts(settings) | _DRIVER_POOL_SETTINGS)}"
    return DriverPool(
        connect, size=settings.pool_size, timeout=settings.pool_timeout_seconds, begin=begin
    )


def owner_engine(database_url: str) -> AsyncEngine:
    return create_async_engine(async_url(database_url), pool_size=2, max_overflow=2)
