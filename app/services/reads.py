"""Read statements written with ``:name`` parameters, run through ``UnitsOfWork.read``.

The statements are composed from SQL fragments that name their parameters;
``ReadQuery`` is a ``DriverStatement`` that fetches its rows, and ``Row`` gives the
driver's records the attribute access the row mappers use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.services.unit_of_work import DriverStatement, UnitsOfWork


class ReadQuery(DriverStatement):
    async def fetch(self, units: UnitsOfWork, params: Mapping[str, Any]) -> list[Row]:
        records = await units.read(self.sql, *self.args(params))
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
