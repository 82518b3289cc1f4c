"""Read statements written with ``:name`` parameters, run through ``UnitsOfWork.read``.

The statements are composed from SQL fragments that name their parameters;
``ReadQuery`` turns them, once, into the driver's positional ``$1`` form, and
``Row`` gives the driver's records the attribute access the row mappers use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.services.unit_of_work import UnitsOfWork

_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


class ReadQuery:
    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def position(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        self.sql = _PARAMETER.sub(position, sql)

    async def fetch(self, units: UnitsOfWork, params: Mapping[str, Any]) -> list[Row]:
        records = await units.read(self.sql, *(params[name] for name in self.names))
        return [Row(record) for record in records]


class Row:
    """A driver record whose columns read as attributes, like SQLAlchemy's rows."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._record[name]
