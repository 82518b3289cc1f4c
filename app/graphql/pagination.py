"""Cursor pagination: page info, opaque cursors, page-size limits.

A cursor is the base64 of ``<kind>:<id>``; clients must treat it as opaque.
Bad paging arguments are GraphQL errors with ``extensions.code`` BAD_USER_INPUT:
a connection has no result union to carry them.
"""

from __future__ import annotations

import base64
import binascii

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from app.domain.ids import parse_id

MAX_PAGE_SIZE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def bad_input(message: str) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def encode_cursor(kind: str, id_: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{id_}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The id in ``cursor`` (``None`` for no cursor); raises for anything else."""
    if cursor is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        decoded = ""
    prefix, _, raw_id = decoded.partition(":")
    id_ = parse_id(raw_id) if prefix == kind else None
    if id_ is None:
        raise bad_input(
            "'after' is not a valid cursor; pass an endCursor or cursor you were given."
        )
    return id_


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input(f"'first' must be between 1 and {MAX_PAGE_SIZE}.")
    return first
