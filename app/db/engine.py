"""Engines and the driver pool.  Every service connection carries its timeouts, so no
request can hang."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings, async_url
from app.db.driver_pool import DriverPool


def _session(settings: Settings) -> dict[str, Any]:
    """What asyncpg is told for every service connection, whichever pool opens it."""
    return {
        "server_settings": {
            "application_name": "credit-ledger",
            "statement_timeout": str(settings.statement_timeout_ms),
            "lock_timeout": str(settings.lock_timeout_ms),
            "idle_in_transaction_session_timeout": "30000",
            # Our statements are short index lookups; JIT compilation only adds latency.
            "jit": "off",
        },
        "command_timeout": settings.statement_timeout_ms / 1000 + 5,
    }


def service_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.service_url(),
        pool_size=settings.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=False,
        connect_args=_session(settings),
    )


def service_driver_pool(settings: Settings, engine: AsyncEngine) -> DriverPool:
    """The hot paths' pool: the same server, role and settings as ``engine``."""
    _, params = engine.dialect.create_connect_args(engine.url)
    session = _session(settings)
    # Its reads are written to be planned well without parameter values, and planning
    # the bigger ones on every execution cost more than running them; the write
    # functions set their own plan_cache_mode (migration 0004_write_plans).
    session["server_settings"]["plan_cache_mode"] = "force_generic_plan"
    return DriverPool(
        {**params, **session},
        size=settings.pool_size,
        timeout=settings.pool_timeout_seconds,
    )


def owner_engine(database_url: str) -> AsyncEngine:
    return create_async_engine(async_url(database_url), pool_size=2, max_overflow=2)
