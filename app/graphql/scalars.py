"""Money and DateTime scalars.

``Money`` is a decimal string in major units (``"1250.50"``).  JSON numbers are
refused: a float cannot carry money exactly.  The scalar checks syntax only;
whether the amount fits the business's currency (decimals, sign, size) is
checked by the resolver, which answers ``InvalidInput`` naming the field.

``DateTime`` is ISO 8601, always returned in UTC; input must carry an offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from app.domain.money import MoneyError, from_minor, parse_decimal

Money = NewType("Money", Decimal)


def money(minor: int, minor_units: int) -> Money:
    """An amount stored in minor units, as the API shows it."""
    return Money(from_minor(minor, minor_units))


def _parse_money(value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError('Money must be a decimal string such as "1250.50", not a number.')
    try:
        return parse_decimal(value)
    except MoneyError as exc:
        raise ValueError(f"Money {exc}.") from exc


def _serialize_money(value: Decimal) -> str:
    # str() is plain notation unless the exponent is positive or the value tiny, never
    # so for amounts from from_minor, and about ten times cheaper than format().
    text = str(value)
    return format(value, "f") if "E" in text else text


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError("DateTime must be an ISO 8601 string.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"DateTime {value!r} is not ISO 8601.") from exc
    if parsed.tzinfo is None:
        raise ValueError("DateTime must include a UTC offset, e.g. 2026-01-31T09:00:00Z.")
    return parsed.astimezone(UTC)


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


SCALAR_MAP: Mapping[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description='An exact amount in major units as a decimal string, e.g. "1250.50".',
        serialize=_serialize_money,
        parse_value=_parse_money,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="An ISO 8601 instant; returned in UTC (Z), accepted with any offset.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}
"""For ``StrawberryConfig.scalar_map``."""
