"""``@audited``: every mutation writes one audit entry (``app.domain.audit``).

The decorator wraps a mutation's resolver (under ``@strawberry.mutation``, so both
Strawberry and the execution engine call it as they call any resolver).  Before
the resolver runs it drafts the entry: who (the caller's identity), from where
(request id, client address), the operation (the field's name), its input
without secrets and its target.  The draft rides on the request's units of work:

- a unit of work that commits writes the entry in the same transaction, with
  the mutation's success type as outcome (``UnitOfWork.commit``);
- a one-call mutation writes it in its call's statement (``UnitsOfWork.call``);
- otherwise nothing was committed (a refusal, invalid input): the entry is
  written on its own once the resolver has answered, with the answer's type
  name as outcome, or the code of the error the resolver raised.

A permission refusal (``FORBIDDEN``) happens before the resolver: the refusing
permission drafts the entry (``note_refusal``) and it is written, outcome
``FORBIDDEN``, before the answer goes out (``app.graphql.http``).  A caller with no
identity (``UNAUTHENTICATED``), like a sign-in with an email nobody has, belongs to
no business and is not written.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import typing
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from graphql import OperationType
from strawberry.types.unset import UNSET

from app.domain.audit import REDACTED, SECRET_FIELDS, AuditDraft, camel, json_value
from app.domain.ids import parse_id
from app.graphql.context import Context
from app.logs import request_id_var
from app.services.audit_entries import RECORD_ALONE, record_params
from app.services.unit_of_work import DriverStatement, fetch

log = logging.getLogger(__name__)

Resolver = TypeVar("Resolver", bound=Callable[..., Awaitable[Any]])

CALLER = "<caller>"
"""``by``: the target is the calling user."""
BUSINESS = "<business>"
"""``by``: the target is the caller's business."""

_RECORD_ALONE = DriverStatement(RECORD_ALONE)
_NOT_ARGUMENTS = frozenset({"self", "root", "parent", "info"})


def audited(target: str | None = None, *, by: str | None = None) -> Callable[[Resolver], Resolver]:
    """Audit the mutation: ``target`` is the type of what it acts on, ``by`` the
    input field (or argument) holding its id; a mutation that creates its target
    names it from the service (``UnitOfWork.audit.target_id``)."""

    def decorate(resolver: Resolver) -> Resolver:
        operation = camel(resolver.__name__)

        spec = _AUDITED[operation] = _Audited(operation, resolver, target, by)

        @functools.wraps(resolver)
        async def audited_resolver(*args: Any, **kwargs: Any) -> Any:
            context: Context = kwargs["info"].context
            draft = _draft(context, spec, kwargs)
            units = context.units_of_work
            context.audit = draft
            if units is not None:
                units.audit = draft
            try:
                result = await resolver(*args, **kwargs)
            except Exception as exc:
                code = (getattr(exc, "extensions", None) or {}).get("code")
                if isinstance(code, str):
                    await _write_alone(context, draft, code)
                raise
            finally:
                context.audit = None
                if units is not None:
                    units.audit = None
            await _write_alone(context, draft, _type_name(result))
            return result

        audited_resolver.audited = True  # type: ignore[attr-defined]
        return typing.cast(Resolver, audited_resolver)

    return decorate


class _Audited(NamedTuple):
    operation: str
    resolver: Callable[..., Any]
    target: str | None
    by: str | None


_AUDITED: dict[str, _Audited] = {}
"""Audited mutations by operation name."""


def _draft(context: Context, audited: _Audited, kwargs: dict[str, Any]) -> AuditDraft:
    arguments = audit_input(kwargs)
    by = audited.by
    draft = AuditDraft(
        operation=audited.operation,
        success=_success_name(audited.resolver),
        input=arguments,
        request_id=_request_id(),
        client_ip=None if context.request.client is None else context.request.client.host,
        target_type=audited.target,
        target_id=_target_id(arguments, by),
    )
    if context.identity is not None:
        draft.act_as(context.identity)
        if by == CALLER:
            draft.target_id = context.identity.user_id
        elif by == BUSINESS:
            draft.target_id = context.identity.business.id
    return draft


FORBIDDEN = "FORBIDDEN"


def note_refusal(info: Any, kwargs: dict[str, Any]) -> None:
    """Draft the entry of an audited mutation that a permission refuses; the request
    writes it (``write_refusals``) before answering.  Permissions answer synchronously
    (the execution engine asks them so), hence the two steps."""
    context: Context = info.context
    audited = _AUDITED.get(info.field_name)
    if (
        audited is None
        or info.path.prev is not None
        or info.operation.operation is not OperationType.MUTATION
        or context.identity is None
    ):
        return  # not a mutation's own field, or nobody to write it for
    context.refused.append(_draft(context, audited, kwargs))


async def write_refusals(context: Context) -> None:
    """The entries ``note_refusal`` drafted, each in its own transaction."""
    while context.refused:
        await _write_alone(context, context.refused.pop(0), FORBIDDEN)


async def _write_alone(context: Context, draft: AuditDraft, outcome: str) -> None:
    """The entry of a call that committed nothing, in its own transaction."""
    if draft.written is not None:
        if draft.written != outcome:
            log.error(
                "audit entry of %s says %s, but it answered %s",
                draft.operation, draft.written, outcome,
            )  # fmt: skip
        return
    if not draft.writable:
        return
    pool = context.request.app.state.driver_pool
    args = _RECORD_ALONE.args(record_params(draft, outcome))
    await fetch(pool.fetchval, _RECORD_ALONE.sql, args)
    draft.written = outcome


def _request_id() -> str | None:
    request_id = request_id_var.get()
    return None if request_id == "-" else request_id


def _target_id(arguments: dict[str, Any], by: str | None) -> int | None:
    if by is None:
        return None
    raw = arguments.get(by)
    if raw is None and isinstance(arguments.get("input"), dict):
        raw = arguments["input"].get(by)
    return parse_id(raw) if isinstance(raw, str) else None


def audit_input(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A resolver's arguments as the audit entry keeps them: by their API names, input
    objects as JSON objects, secrets (``SECRET_FIELDS``) redacted at any depth."""
    return {
        camel(name): REDACTED if camel(name) in SECRET_FIELDS else _plain(value)
        for name, value in kwargs.items()
        if name not in _NOT_ARGUMENTS
    }


_INPUT_FIELDS: dict[type, tuple[tuple[str, str], ...] | None] = {}


def _input_fields(cls: type) -> tuple[tuple[str, str], ...] | None:
    """An input type's fields, (Python name, API name); ``None`` for any other type."""
    if cls not in _INPUT_FIELDS:
        _INPUT_FIELDS[cls] = (
            tuple((field.name, camel(field.name)) for field in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
    return _INPUT_FIELDS[cls]


_LEAVES = (str, int, bool, type(None))
_NON_TEXT_LEAVES = (int, bool, type(None))


def _storable(text: str) -> str:
    """``text`` as jsonb can hold it: NUL and unpaired surrogates (which a refused input
    may carry, and which PostgreSQL cannot store) become U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode(errors="surrogatepass").decode(errors="replace")
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return _storable(value)
    if type(value) in _LEAVES:
        return value
    fields = _input_fields(type(value))
    if fields is not None:
        plain = {}
        for name, api_name in fields:
            item = getattr(value, name)
            if api_name in SECRET_FIELDS:
                plain[api_name] = REDACTED
            elif type(item) in _NON_TEXT_LEAVES:
                plain[api_name] = item
            elif item is not UNSET:
                plain[api_name] = _plain(item)
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return json_value(value)


def _type_name(value: Any) -> str:
    definition = getattr(type(value), "__strawberry_definition__", None)
    if definition is not None:
        return str(definition.name)
    if isinstance(value, bool):
        return "Boolean"
    return type(value).__name__


@functools.cache
def _success_name(resolver: Callable[..., Any]) -> str:
    """The first member of the resolver's result union (every mutation's is its success),
    or the result type itself."""
    answer = typing.get_type_hints(resolver, include_extras=True)["return"]
    if typing.get_origin(answer) is typing.Annotated:
        answer = typing.get_args(answer)[0]
    members = typing.get_args(answer)
    if members:
        answer = members[0]
    if answer is bool:
        return "Boolean"
    definition = getattr(answer, "__strawberry_definition__", None)
    return str(definition.name) if definition is not None else answer.__name__
