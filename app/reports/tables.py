"""A report as a table: typed columns, rows that may arrive in pages, an optional chart.

Every file format (``csv_file``, ``xlsx``, ``pdf``) renders the same ``Report``, so the
figures in a file are the figures of the table, and those are the GraphQL figures
(the same services build both).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

Cell = str | int | Decimal | date | datetime | None


class Kind(Enum):
    TEXT = "text"
    INT = "int"
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    INSTANT = "instant"
    """A ``datetime`` in the store's time zone."""


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind


@dataclass(frozen=True)
class Chart:
    title: str
    labels: list[str]
    values: list[Decimal]
    kind: str = "bar"


@dataclass
class Report:
    name: str
    title: str
    subtitle: str
    columns: Sequence[Column]
    rows: AsyncIterator[list[Cell]]
    minor_units: int
    charts: list[Chart] = field(default_factory=list)
    footer: list[tuple[str, str]] = field(default_factory=list)
    """Label and value lines printed under the table (totals, balances)."""


async def rows_of(rows: Sequence[list[Cell]]) -> AsyncIterator[list[Cell]]:
    for row in rows:
        yield row
