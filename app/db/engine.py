"""Engines.  Every service connection carries its timeouts, so no request can hang."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings, async_url


def service_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.service_url(),
        pool_size=settings.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "application_name": "credit-ledger",
                "statement_timeout": str(settings.statement_timeout_ms),
                "lock_timeout": str(settings.lock_timeout_ms),
                "idle_in_transaction_session_timeout": "30000",
                # Our statements are short index lookups; JIT compilation only adds latency.
                "jit": "off",
            },
            "command_timeout": settings.statement_timeout_ms / 1000 + 5,
        },
    )


def owner_engine(database_url: str) -> AsyncEngine:
    return create_async_engine(async_url(database_url), pool_size=2, max_overflow=2)
