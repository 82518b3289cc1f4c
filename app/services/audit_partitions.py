"""The audit trail's monthly partitions (migration ``0016_audit_trail``), for the owner.

``add_partitions`` creates the coming months' partitions ahead of time (the
DEFAULT partition takes rows of a month that has none, so an insert never fails,
but such a month can then no longer get its own); ``detach_before`` detaches
whole months before a given one, leaving each a standalone table to archive.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_ADD = text(
    "SELECT add_audit_partitions(CAST(now() AT TIME ZONE 'UTC' AS date),"
    " CAST((now() AT TIME ZONE 'UTC') + make_interval(months => :months) AS date))"
)
_DETACH = text("SELECT detach_audit_partitions(:before)")


def month_start(month: date) -> datetime:
    """The first instant (UTC) of ``month``'s month."""
    return datetime(month.year, month.month, 1, tzinfo=UTC)


async def add_partitions(engine: AsyncEngine, *, months: int) -> list[str]:
    """Create the missing partitions from this month to ``months`` ahead; their names."""
    async with engine.begin() as connection:
        return list((await connection.execute(_ADD, {"months": months})).scalars())


async def detach_before(engine: AsyncEngine, *, month: date) -> list[str]:
    """Detach every monthly partition that ends by the start of ``month``; their names,
    oldest first."""
    async with engine.begin() as connection:
        rows = await connection.execute(_DETACH, {"before": month_start(month)})
        return list(rows.scalars())
