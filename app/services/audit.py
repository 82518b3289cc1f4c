"""Reading the audit trail (migration ``0016_audit_trail``), newest entry first.

Each combination of filters is its own constant statement (as ``listing``'s
lists are), so each keeps a plan that fits it: by target, by actor, or by time,
each an index range scan per monthly partition, merged in order.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from functools import cache
from ipaddress import IPv4Address, IPv6Address
from typing import Any, NamedTuple

import orjson
from sqlalchemy import TextClause, text

from app.services.unit_of_work import TENANT, UnitOfWork


class ActorKind(Enum):
    USER = "user"
    API_KEY = "api_key"


class AuditRecord(NamedTuple):
    id: int
    at: datetime
    actor_kind: ActorKind
    actor_id: int
    role: str
    request_id: str | None
    client_ip: str | None
    operation: str
    target_type: str | None
    target_id: int | None
    outcome: str
    input: Any
    before: Any
    after: Any


class AuditFilter(NamedTuple):
    actor_id: int | None = None
    actor_kind: ActorKind | None = None
    target_type: str | None = None
    target_id: int | None = None
    since: datetime | None = None
    """Inclusive."""
    until: datetime | None = None
    """Exclusive."""


_ACTOR = {
    None: "(actor_user_id = :actor_id OR actor_key_id = :actor_id)",
    ActorKind.USER: "actor_user_id = :actor_id",
    ActorKind.API_KEY: "actor_key_id = :actor_id",
}
_COLUMNS = (
    "id, at, actor_user_id, actor_key_id, role, request_id, host(client_ip) AS client_ip,"
    " operation, target_type, target_id, outcome, input::text AS input,"
    " before::text AS before, after::text AS after"
)


@cache
def _statement(
    *, actor: bool, actor_kind: ActorKind | None, target_type: bool, target_id: bool,
    since: bool, until: bool, after: bool,
) -> TextClause:  # fmt: skip
    conditions = [f"business_id = {TENANT}"]
    if actor:
        conditions.append(_ACTOR[actor_kind])
    if target_type:
        conditions.append("target_type = :target_type")
    if target_id:
        conditions.append("target_id = :target_id")
    if since:
        conditions.append("at >= :since")
    if until:
        conditions.append("at < :until")
    if after:
        conditions.append("(at, id) < (:after_at, :after_id)")
    return text(
        f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(conditions)}"
        " ORDER BY at DESC, id DESC LIMIT :limit"
    )


def _json(raw: str | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def _record(row: Any) -> AuditRecord:
    user_id = row.actor_user_id
    client_ip = row.client_ip
    if isinstance(client_ip, IPv4Address | IPv6Address):
        client_ip = str(client_ip)
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor_kind=ActorKind.USER if user_id is not None else ActorKind.API_KEY,
        actor_id=user_id if user_id is not None else row.actor_key_id,
        role=row.role,
        request_id=row.request_id,
        client_ip=client_ip,
        operation=row.operation,
        target_type=row.target_type,
        target_id=row.target_id,
        outcome=row.outcome,
        input=_json(row.input),
        before=_json(row.before),
        after=_json(row.after),
    )


async def audit_page(
    uow: UnitOfWork, *, where: AuditFilter, limit: int, after: tuple[datetime, int] | None
) -> list[AuditRecord]:
    statement = _statement(
        actor=where.actor_id is not None,
        actor_kind=where.actor_kind if where.actor_id is not None else None,
        target_type=where.target_type is not None,
        target_id=where.target_id is not None,
        since=where.since is not None,
        until=where.until is not None,
        after=after is not None,
    )
    params: dict[str, Any] = {**where._asdict(), "limit": limit}
    params.pop("actor_kind")
    if after is not None:
        params["after_at"], params["after_id"] = after
    rows = await uow.execute(statement, params)
    return [_record(row) for row in rows]
