"""``auditLog`` (owners): the audit trail, newest entry first (``app.services.audit``).

An entry names its actor by kind and id (``actorKind``, ``actorId``) and the role
they acted in; ``input``, ``before`` and ``after`` are JSON as the trail holds
them (the input without secrets; an update's changed fields before and after).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from app.domain.identity import CreatedBy
from app.graphql.actors import Actor, actor_field
from app.graphql.common import gid
from app.graphql.context import Info
from app.graphql.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    bad_input,
    connection,
    decode_instant_id,
    encode_cursor,
    page_size,
)
from app.graphql.permissions import OWNER
from app.graphql.viewer import Role
from app.services import audit as service
from app.services.audit import ActorKind

CURSOR_KIND = "audit"
MAX_NAME_LENGTH = 100

strawberry.enum(ActorKind, name="ActorKind")


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    at: datetime
    actor_id: strawberry.ID
    actor_kind: ActorKind
    created_by: Actor | None = actor_field(
        lambda entry: entry.actor, "Who made the call: the `User` or the `ApiKey`."
    )
    actor: strawberry.Private[CreatedBy]
    role: Role = strawberry.field(description="The role the actor acted in.")
    request_id: str | None
    client_ip: str | None
    operation: str = strawberry.field(description="The mutation, e.g. `voidOrder`.")
    target_type: str | None = strawberry.field(description="e.g. `Order`, `Customer`.")
    target_id: strawberry.ID | None
    outcome: str = strawberry.field(
        description="The result's type name (e.g. `OrderVoided`, `NotFound`), or the code "
        "of the error the mutation raised."
    )
    input: JSON = strawberry.field(description="The arguments, secrets left out.")
    before: JSON | None = strawberry.field(description="An update's changed fields before it.")
    after: JSON | None = strawberry.field(description="An update's changed fields after it.")

    @classmethod
    def of(cls, record: service.AuditRecord) -> AuditEntry:
        return cls(
            id=gid(record.id),
            at=record.at,
            actor_id=gid(record.actor_id),
            actor_kind=record.actor_kind,
            actor=CreatedBy(
                record.actor_id if record.actor_kind is ActorKind.USER else None,
                record.actor_id if record.actor_kind is ActorKind.API_KEY else None,
            ),
            role=Role(record.role),
            request_id=record.request_id,
            client_ip=record.client_ip,
            operation=record.operation,
            target_type=record.target_type,
            target_id=None if record.target_id is None else gid(record.target_id),
            outcome=record.outcome,
            input=record.input,
            before=record.before,
            after=record.after,
        )


def _id(raw: str | None, argument: str) -> int | None:
    if raw is None:
        return None
    value = raw.strip()
    if not (value.isdigit() and 0 < int(value) < 2**63):
        raise bad_input(argument, "is not a valid id")
    return int(value)


def _cursor(record: service.AuditRecord) -> str:
    return encode_cursor(CURSOR_KIND, record.at, record.id)


@strawberry.type
class AuditQueries:
    @strawberry.field(
        permission_classes=OWNER,
        description="The audit trail, newest first: one entry per mutation called, refusals "
        "included.  `from` is inclusive, `to` exclusive; `actorId` matches a user or an API "
        "key unless `actorKind` says which.",
    )
    async def audit_log(  # noqa: PLR0917 - GraphQL arguments, passed by name
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        actor_id: strawberry.ID | None = None,
        actor_kind: ActorKind | None = None,
        entity_type: str | None = None,
        entity_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> Connection[AuditEntry]:
        limit = page_size(first)
        key = decode_instant_id(after, CURSOR_KIND)
        if entity_type is not None and not 1 <= len(entity_type) <= MAX_NAME_LENGTH:
            raise bad_input("entityType", f"must be 1 to {MAX_NAME_LENGTH} characters")
        where = service.AuditFilter(
            actor_id=_id(actor_id, "actorId"),
            actor_kind=actor_kind,
            target_type=entity_type,
            target_id=_id(entity_id, "entityId"),
            since=from_,
            until=to,
        )
        async with info.context.uow() as uow:
            records: list[Any] = await service.audit_page(
                uow, where=where, limit=limit + 1, after=key
            )
        return connection(records, limit, cursor=_cursor, node=AuditEntry.of)
