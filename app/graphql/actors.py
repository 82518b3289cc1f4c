"""Who did it: ``createdBy`` (and ``voidedBy``, ``reversedBy``) on orders, payments,
ledger entries, stock movements and corrections.

``Actor`` is the signed-in ``User`` or the ``ApiKey`` that made the request.  An
``ApiKey`` shows its id, name and role: never its secret, whose hash no query here
reads.  A ``User`` shows its email and last sign-in only to owners and to that user
(``SeesUserDetails``): a colleague sees who did it, not how to reach them.  A row
stores ids (``CreatedBy``); ``load_actor`` turns them into an ``Actor`` through one
per-request dataloader, so a page of rows costs one unit of work (a statement for
users, one for keys) whatever its size.  Rows from before attribution, or written by
the operator's CLI, answer null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry

from app.domain.identity import CreatedBy
from app.domain.users import UserRecord
from app.graphql.common import gid
from app.graphql.context import Info
from app.graphql.loaders import actor_by_ref
from app.graphql.permissions import SeesUserDetails
from app.graphql.users import User
from app.graphql.viewer import Role
from app.services.key_records import ApiKeyRecord

CREATED_BY = "Who made it: a user or an API key (null for rows made before attribution)."


@strawberry.type(description="An API key as attribution shows it; never its secret.")
class ApiKey:
    id: strawberry.ID
    name: str | None
    role: Role

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKey:
        return cls(id=gid(record.id), name=record.name, role=Role(record.role.value))


Actor = Annotated[
    User | ApiKey,
    strawberry.union("Actor", description="Who did something: a signed-in user or an API key."),
]


async def load_actor(info: Info, user_id: int | None, key_id: int | None) -> User | ApiKey | None:
    """The actor a row names by its user id or key id (at most one set); null for neither."""
    if user_id is None and key_id is None:
        return None
    record = await actor_by_ref(info).load(CreatedBy(user_id, key_id))
    if isinstance(record, UserRecord):
        shown = SeesUserDetails.shown_to(info.context.identity, record.id)
        return User.of(record, details_hidden=not shown)
    return None if record is None else ApiKey.of(record)


def actor_field(who: Callable[[Any], CreatedBy], description: str = CREATED_BY) -> Any:
    """A field resolving to the ``Actor`` that ``who(parent)`` names."""

    async def resolve(root: Any, info: Info) -> Actor | None:
        return await load_actor(info, *who(root))

    return strawberry.field(resolver=resolve, description=description)
