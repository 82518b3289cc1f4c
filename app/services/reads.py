"""Read statements written with ``:name`` parameters, run through ``UnitsOfWork.read``.

The statements are composed from SQL fragments that name their parameters;
``ReadQuery`` is a ``ReadStatement`` (it binds the tenant itself) that fetches its
rows: the driver's records, which the row mappers read by column name
(``row["name"]``, a lookup in C).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from app.services.unit_of_work import ReadStatement, UnitsOfWork


class ReadQuery(ReadStatement):
    async def fetch(self, units: UnitsOfWork, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        return await units.read(self, params)
