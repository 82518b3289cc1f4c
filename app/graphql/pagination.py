"""Cursor connections: ``edges { cursor node } pageInfo { hasNextPage endCursor }``.

A cursor is the URL-safe base64 of a small JSON array: the list it belongs to,
then the sort key of its row (e.g. name and id).  Clients must treat it as
opaque.  A page is the ``first`` rows after the cursor's key, so paging never
repeats or skips a row that did not change meanwhile, however deep the page.

Asking for more than ``MAX_PAGE_SIZE`` rows, or passing a cursor that is not one
of this list's, is a GraphQL error with ``extensions.code`` ``BAD_USER_INPUT``
and ``extensions.argument`` naming the argument: it is a client bug, not a
business outcome, so it is not a union member.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeGuard, TypeVar

import orjson
import strawberry
from strawberry.exceptions import StrawberryGraphQLError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null when the page is empty."
    )


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def bad_input(argument: str, message: str) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(
        f"{argument}: {message}", extensions={"code": "BAD_USER_INPUT", "argument": argument}
    )


def page_size(first: int, argument: str = "first") -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input(argument, f"must be between 1 and {MAX_PAGE_SIZE}")
    return first


def read_search(raw: str | None) -> str | None:
    """Trimmed search text; ``None`` when there is nothing to search for.  Any length is
    taken literally: one longer than any searchable text finds nothing, unsent."""
    search = (raw or "").strip()
    if any(not character.isprintable() for character in search):
        raise bad_input("search", "must not contain control characters")
    return search or None


CursorValue = str | int | datetime


def encode_cursor(kind: str, *key: CursorValue) -> str:
    values = [kind, *(v.isoformat() if isinstance(v, datetime) else v for v in key)]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def _bad_cursor() -> StrawberryGraphQLError:
    return bad_input("after", "is not a cursor of this list; pass an endCursor it returned")


def _key(raw: str, kind: str, size: int) -> list[object]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        values = None
    if not (isinstance(values, list) and len(values) == size + 1 and values[0] == kind):
        raise _bad_cursor()
    return values[1:]


def _is_id(value: object) -> TypeGuard[int]:
    return type(value) is int and 0 < value < 2**63


CURSOR_YEARS = range(1900, 3000)
"""Instants a cursor may hold: any a list of ours can sort by, and none that date
arithmetic in Python or PostgreSQL could overflow."""


def _instant(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            return None
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.year in CURSOR_YEARS else None


def decode_name_id(raw: str | None, kind: str) -> tuple[str, int] | None:
    """The (name, id) key of cursor ``raw`` of list ``kind``; ``None`` for no cursor."""
    if raw is None:
        return None
    name, id_ = _key(raw, kind, 2)
    # PostgreSQL text cannot hold NUL, and no name of ours is longer than 200.
    if not (isinstance(name, str) and "\x00" not in name and len(name) <= 200 and _is_id(id_)):
        raise _bad_cursor()
    return name, id_


def decode_instant_id(raw: str | None, kind: str) -> tuple[datetime, int] | None:
    if raw is None:
        return None
    value, id_ = _key(raw, kind, 2)
    instant = _instant(value)
    if instant is None or not _is_id(id_):
        raise _bad_cursor()
    return instant, id_


def decode_value_id(
    raw: str | None, kind: str, read: Callable[[object], V | None]
) -> tuple[V, int] | None:
    """The (value, id) key of cursor ``raw`` of list ``kind``; ``read`` returns the value
    checked and converted, or ``None`` when it is not one the list sorts by."""
    if raw is None:
        return None
    value, id_ = _key(raw, kind, 2)
    checked = read(value)
    if checked is None or not _is_id(id_):
        raise _bad_cursor()
    return checked, id_


def read_name(value: object) -> str | None:
    # PostgreSQL text cannot hold NUL, and no name of ours is longer than 200.
    ok = isinstance(value, str) and "\x00" not in value and len(value) <= 200
    return value if ok else None  # type: ignore[return-value]


def read_bigint(value: object) -> int | None:
    return value if type(value) is int and -(2**63) <= value < 2**63 else None


def read_instant(value: object) -> datetime | None:
    return _instant(value)


def decode_id(raw: str | None, kind: str) -> int | None:
    if raw is None:
        return None
    (id_,) = _key(raw, kind, 1)
    if not _is_id(id_):
        raise _bad_cursor()
    return id_


def connection(
    rows: Sequence[R], limit: int, *, cursor: Callable[[R], str], node: Callable[[R], T]
) -> Connection[T]:
    """The connection for ``rows`` read with ``LIMIT limit + 1``: the extra row means more."""
    edges = [Edge(cursor=cursor(row), node=node(row)) for row in rows[:limit]]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None
        ),
    )
