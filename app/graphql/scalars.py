"""Money, Percent and DateTime scalars.

``Money`` is a decimal string in major units (``"1250.50"``).  JSON numbers are
refused: a float cannot carry money exactly.  The scalar checks syntax only;
whether the amount fits the business's currency (decimals, sign, size) is
checked by the resolver, which answers ``InvalidInput`` naming the field.

``Percent`` is a decimal string too (``"5.00"``), parsed the same way; its range
(0-100) and decimals (at most two) are the resolver's to check, as for money.

``DateTime`` is ISO 8601, always returned in UTC; input must carry an offset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from app.domain.money import MoneyError, from_minor, parse_decimal
from app.domain.percent import from_hundredths

Money = NewType("Money", Decimal)
Percent = NewType("Percent", Decimal)


def money(minor: int, minor_units: int) -> Money:
    """An amount stored in minor units, as the API shows it."""
    return Money(from_minor(minor, minor_units))


def percent(hundredths: int) -> Percent:
    """A rate stored in hundredths of a percent, as the API shows it (``"5.00"``)."""
    return Percent(from_hundredths(hundredths))


def _decimal_parser(name: str, example: str) -> Callable[[object], Decimal]:
    def parse(value: object) -> Decimal:
        if not isinstance(value, str):
            raise TypeError(f'{name} must be a decimal string such as "{example}", not a number.')
        try:
            return parse_decimal(value)
        except MoneyError as exc:
            raise ValueError(f"{name} {exc}.") from exc

    return parse


_parse_money = _decimal_parser("Money", "1250.50")


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


def _parse_date(value: object) -> date:
    if not isinstance(value, str):
        raise TypeError("Date must be a string such as 2026-01-31.")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"Date {value!r} is not a calendar date such as 2026-01-31.") from exc


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


SPECIFIED_BY = "docs/scalars.md"
"""Each scalar's ``@specifiedBy(url:)``: its section of the repository's docs/scalars.md."""

SCALAR_MAP: Mapping[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description='An exact amount in major units as a decimal string, e.g. "1250.50".',
        specified_by_url=f"{SPECIFIED_BY}#money",
        serialize=_serialize_money,
        parse_value=_parse_money,
    ),
    Percent: strawberry.scalar(
        name="Percent",
        description='A percentage from 0 to 100 with at most two decimals, e.g. "5.00".',
        specified_by_url=f"{SPECIFIED_BY}#percent",
        serialize=_serialize_money,
        parse_value=_decimal_parser("Percent", "5.00"),
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="An ISO 8601 instant; returned in UTC (Z), accepted with any offset.",
        specified_by_url=f"{SPECIFIED_BY}#datetime",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    date: strawberry.scalar(
        name="Date",
        description="A calendar day, ISO 8601 (2026-01-31): a day in the store's time zone.",
        specified_by_url=f"{SPECIFIED_BY}#date",
        serialize=date.isoformat,
        parse_value=_parse_date,
    ),
}
"""For ``StrawberryConfig.scalar_map``."""
