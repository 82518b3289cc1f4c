"""Result union members shared by every mutation, and the helpers that build them."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.domain import results
from app.domain.ids import parse_id
from app.domain.money import MoneyError, to_minor
from app.domain.percent import PercentError, to_hundredths


@strawberry.type
class FieldError:
    field: str
    message: str


@strawberry.type
class InvalidInput:
    message: str
    fields: list[FieldError]

    @classmethod
    def of(cls, invalid: results.Invalid) -> InvalidInput:
        return cls(
            message=invalid.message,
            fields=[FieldError(field=p.field, message=p.message) for p in invalid.problems],
        )

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls.of(results.Invalid.one(field, message))


@strawberry.type
class NotFound:
    message: str
    id: strawberry.ID

    @classmethod
    def of(cls, missing: results.Missing) -> NotFound:
        return cls(message=missing.message, id=strawberry.ID(missing.id))


@strawberry.type
class IdempotencyKeyReused:
    message: str
    idempotency_key: str

    @classmethod
    def of(cls, reused: results.KeyReused) -> IdempotencyKeyReused:
        return cls(message=reused.message, idempotency_key=reused.key)


def gid(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def read_id(raw: str, field: str, problems: results.Problems) -> int:
    """The integer id, or 0 after recording a problem for ``field``."""
    value = parse_id(raw)
    if value is None:
        problems.add(field, "is not a valid id")
        return 0
    return value


def read_money(
    raw: Decimal, field: str, problems: results.Problems, minor_units: int, *, positive: bool
) -> int:
    """Minor units for ``raw``, or 0 after recording why it is not acceptable."""
    try:
        minor = to_minor(raw, minor_units)
    except MoneyError as exc:
        problems.add(field, str(exc))
        return 0
    if positive and minor <= 0:
        problems.add(field, "must be greater than zero")
    elif minor < 0:
        problems.add(field, "must not be negative")
    return minor


def read_percent(raw: Decimal, field: str, problems: results.Problems) -> int:
    """Hundredths of a percent for ``raw``, or 0 after recording why it is not acceptable."""
    try:
        return to_hundredths(raw)
    except PercentError as exc:
        problems.add(field, str(exc))
        return 0


def read_text(
    raw: str | None, field: str, problems: results.Problems, *, max_length: int, required: bool
) -> str | None:
    """Trimmed text; empty optional text becomes ``None``."""
    if raw is None:
        if required:
            problems.add(field, "is required")
        return None
    value = raw.strip()
    if not value:
        if required:
            problems.add(field, "must not be empty")
        return None
    if len(value) > max_length:
        problems.add(field, f"must be at most {max_length} characters")
    elif not _storable(value):
        problems.add(field, _NOT_STORABLE)
    return value


def read_idempotency_key(raw: str, problems: results.Problems) -> str:
    value = raw.strip()
    if not 1 <= len(value) <= 200:
        problems.add("idempotencyKey", "must be 1 to 200 characters")
    elif not _storable(value):
        problems.add("idempotencyKey", _NOT_STORABLE)
    return value


_NOT_STORABLE = "must not contain NUL characters or unpaired surrogates"


def _storable(value: str) -> bool:
    """JSON strings can carry NUL and lone surrogates; PostgreSQL text can hold neither."""
    if "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def read_quantity(raw: int, field: str, problems: results.Problems) -> int:
    if raw <= 0:
        problems.add(field, "must be greater than zero")
    return raw


def read_terms(raw: int | None, field: str, problems: results.Problems) -> int | None:
    if raw is not None and not 0 <= raw <= 3650:
        problems.add(field, "must be between 0 and 3650 days")
    return raw
