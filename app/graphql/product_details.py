"""Reading the catalogue fields of ``createProduct`` and ``updateProduct``.

``unit`` and ``status`` arrive as strings, not enums, so that an unknown value is
an ``InvalidInput`` naming the field (a business answer the client can show), as
a bad barcode or a negative cost is, rather than a GraphQL validation error.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from app.domain import catalogue
from app.domain.results import Problems
from app.graphql.common import read_money, read_text


def _one_of(raw: str, field: str, allowed: type[catalogue.Unit | catalogue.ProductStatus],
            problems: Problems) -> str:  # fmt: skip
    names = [member.value for member in allowed]
    if raw not in names:
        problems.add(field, f"must be one of {', '.join(names)}")
    return raw


def read_barcode(raw: str, problems: Problems) -> str | None:
    """Trimmed; control characters anywhere refused; empty means no barcode."""
    if any(unicodedata.category(character) == "Cc" for character in raw):
        problems.add("barcode", "must not contain control characters")
        return None
    return read_text(
        raw, "barcode", problems, max_length=catalogue.MAX_BARCODE_LENGTH, required=False
    )


def read_details(values: dict[str, Any], problems: Problems, minor_units: int) -> dict[str, Any]:
    """The catalogue columns for the given GraphQL field values (``UNSET`` ones left out);
    a null clears a column, but ``unit`` and ``status`` cannot be null."""
    read: dict[str, Any] = {}
    for name, raw in values.items():
        if raw is strawberry.UNSET:
            continue
        if raw is None:
            if name in ("unit", "status"):
                problems.add(name, "must not be null")
            read[name] = None
            continue
        read[name] = _read_one(name, raw, problems, minor_units)
    return read


def _read_one(  # noqa: PLR0911 - one answer per field
    name: str, raw: Any, problems: Problems, minor_units: int
) -> Any:
    match name:
        case "description":
            return read_text(raw, "description", problems, required=False,
                             max_length=catalogue.MAX_DESCRIPTION_LENGTH)  # fmt: skip
        case "category":
            return read_text(raw, "category", problems, required=False,
                             max_length=catalogue.MAX_CATEGORY_LENGTH)  # fmt: skip
        case "unit":
            return _one_of(raw, "unit", catalogue.Unit, problems)
        case "status":
            return _one_of(raw, "status", catalogue.ProductStatus, problems)
        case "barcode":
            return read_barcode(raw, problems)
        case "cost_price":
            assert isinstance(raw, Decimal)
            return read_money(raw, "costPrice", problems, minor_units, positive=False)
        case "min_stock":
            if raw < 0:
                problems.add("minStock", "must not be negative")
            elif raw > catalogue.MAX_MIN_STOCK:
                problems.add("minStock", "is too large")
            return raw
        case "expiry_date":
            assert isinstance(raw, date)
            if raw < catalogue.EARLIEST_EXPIRY:
                problems.add("expiryDate", f"must not be before {catalogue.EARLIEST_EXPIRY}")
            return raw
    raise ValueError(f"not a catalogue field: {name}")
