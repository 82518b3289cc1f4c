"""Idempotency keys: one effect per key, the original answer to every retry.

The key, the operation and a hash of the canonical request are stored in the
same transaction as the effect, unique per business.  Only successful effects
are remembered: a refusal (not enough stock, over the limit, not found, bad
input) writes nothing, so the same key may be retried once the cause is fixed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.results import KeyReused
from app.services.unit_of_work import TENANT, UnitOfWork


def request_hash(operation: str, request: dict[str, Any]) -> str:
    canonical = orjson.dumps({"op": operation, "req": request}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Replay:
    response: dict[str, Any]


_FIND = text(
    f"SELECT operation, request_hash, response FROM idempotency_keys"
    f" WHERE business_id = {TENANT} AND key = :key"
)
_REMEMBER = text(
    f"INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)"
    f" VALUES ({TENANT}, :key, :operation, :hash, CAST(:response AS jsonb))"
)


async def recall(
    uow: UnitOfWork, *, key: str, operation: str, hash_: str
) -> Replay | KeyReused | None:
    row = (await uow.execute(_FIND, {"key": key})).first()
    if row is None:
        return None
    if row.operation != operation or row.request_hash != hash_:
        return KeyReused(key)
    return Replay(row.response)


async def remember(
    uow: UnitOfWork, *, key: str, operation: str, hash_: str, response: dict[str, Any]
) -> None:
    await uow.execute(
        _REMEMBER,
        {
            "key": key,
            "operation": operation,
            "hash": hash_,
            "response": orjson.dumps(response).decode(),
        },
    )


MIN_RETENTION_HOURS = 24
"""Keys are kept at least this long; migration 0002 enforces the same floor."""

_PRUNE_ALL = text(
    "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :h)"
)


async def prune_expired(engine: AsyncEngine, *, older_than_hours: int) -> int:
    """Delete every business's keys older than the given age (owner engine)."""
    if older_than_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"keys are kept at least {MIN_RETENTION_HOURS} hours")
    async with engine.begin() as connection:
        result = await connection.execute(_PRUNE_ALL, {"h": older_than_hours})
    return int(getattr(result, "rowcount", 0))
