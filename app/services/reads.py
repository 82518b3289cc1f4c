"""Read statements written with ``:name`` parameters, run through ``UnitsOfWork.read``.

The statements are composed from SQL fragments that name their parameters;
``ReadQuery`` is a ``ReadStatement`` (it binds the tenant itself) that fetches its
rows: the driver's records, which the row mappers read by column name
(``row["name"]``, a lookup in C).  ``by_order`` groups rows of a batch by order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

from app.services.unit_of_work import ReadStatement, UnitsOfWork

V = TypeVar("V")


class ReadQuery(ReadStatement):
    async def fetch(self, units: UnitsOfWork, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        return await units.read(self, params)


def by_order(
    rows: Iterable[Any], order_ids: Sequence[int], record: Callable[[Any], V]
) -> dict[int, tuple[V, ...]]:
    """``record(row)`` of each row under its ``order_id``, in the rows' order; every
    order of ``order_ids`` is a key, with nothing under it when no row names it.
    Rows are read by column name: the driver's records or SQLAlchemy rows' mappings."""
    found: dict[int, list[V]] = {order_id: [] for order_id in order_ids}
    for row in rows:
        found[row["order_id"]].append(record(row))
    return {order_id: tuple(records) for order_id, records in found.items()}
