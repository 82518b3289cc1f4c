"""API keys as attribution shows them (``createdBy``): id, name, role, never the
secret's hash, which no query here reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import text

from app.domain.identity import Role
from app.services.unit_of_work import TENANT, UnitOfWork


class ApiKeyRecord(NamedTuple):
    id: int
    name: str | None
    role: Role


_BY_IDS = text(
    f"SELECT id, name, role FROM api_keys WHERE business_id = {TENANT} AND id = ANY(:ids)"
)


async def get_api_keys(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, ApiKeyRecord]:
    rows = await uow.execute(_BY_IDS, {"ids": list(ids)})
    return {row.id: ApiKeyRecord(row.id, row.name, Role(row.role)) for row in rows}
