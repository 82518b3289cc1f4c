"""What an audit entry says about one mutation (migration ``0016_audit_trail``).

One entry per call of a mutation, its refusals included: who (an API key or a
user, and the role they acted in), from where (request id, client address),
what (operation, target, the input without secrets, the values an update
changed) and how it ended (``outcome``: the name of the API's result type, or
the code of the error it raised).

A draft is made before the mutation runs and written once: by the unit of work
that commits the mutation's effect, in that transaction (its outcome is then the
mutation's success type), or, when nothing was committed, on its own afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from app.domain.identity import Identity

SECRET_FIELDS = frozenset(
    {
        "password", "currentPassword", "newPassword", "oneTimePassword", "refreshToken",
        "accessToken", "token", "secret",
    }
)  # fmt: skip
"""Arguments and input fields never written to the trail, at any depth: their values
are replaced by ``REDACTED``."""

REDACTED = "[redacted]"


def json_value(value: Any) -> Any:
    """``value`` as JSON can hold it: money and instants as strings, enums by value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(item) for item in value]
    return str(value)  # Decimal (money), float, anything else


def _fields(record: Any) -> dict[str, Any]:
    if hasattr(record, "_asdict"):
        fields: dict[str, Any] = record._asdict()
        return fields
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    raise TypeError(f"not a record: {type(record).__name__}")


@functools.cache
def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def changes(before: Any, after: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of two versions of a record (NamedTuple or dataclass) that differ,
    before and after, by their API names."""
    old, new = _fields(before), _fields(after)
    changed = [name for name in new if old.get(name) != new[name]]
    return (
        {camel(name): json_value(old.get(name)) for name in changed},
        {camel(name): json_value(new[name]) for name in changed},
    )


@dataclass
class AuditDraft:
    operation: str
    success: str
    """The outcome of a call that commits: the mutation's success type."""
    input: dict[str, Any]
    request_id: str | None = None
    client_ip: str | None = None
    business_id: int | None = None
    actor_user_id: int | None = None
    actor_key_id: int | None = None
    role: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    written: str | None = None
    """The outcome written, once the entry is."""

    def act_as(self, identity: Identity) -> None:
        self.business_id = identity.business.id
        self.actor_user_id = identity.user_id
        self.actor_key_id = identity.key_id
        self.role = identity.role.value

    @property
    def writable(self) -> bool:
        """Whose entry it is is known (a sign-in with an unknown email never is)."""
        return self.business_id is not None and self.role is not None

    def changed(self, before: Any, after: Any) -> None:
        """Record what an update changed (records of the row before and after it)."""
        self.before, self.after = changes(before, after)
