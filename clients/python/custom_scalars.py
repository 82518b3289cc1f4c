"""How the client reads and writes the service's custom scalars (docs/scalars.md)."""

from datetime import datetime
from decimal import Decimal


def parse_decimal(value: str) -> Decimal:
    return Decimal(value)


def serialize_decimal(value: Decimal) -> str:
    return format(value, "f")


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


def serialize_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("DateTime needs a UTC offset")
    return value.isoformat()
