"""Report periods: days of the store, groups of days, and what a request may ask for.

A period is a range of whole days in the store's time zone, ``start`` to ``end``
inclusive, at most ``MAX_YEARS`` long.  Its instants are from the store's midnight
starting ``start`` to the midnight ending ``end``; ``sales_summaries`` rows are
15-minute slots of UTC time, and every time zone's offset is a whole number of
quarter hours (``test_every_zone_offset_is_a_whole_number_of_quarter_hours``), so a
store's midnight is always a slot boundary and a period is a whole number of slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

MAX_YEARS = 5
MAX_DAYS = MAX_YEARS * 366
"""Five years of days, leap days included."""


class GroupBy(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class PeriodError(ValueError):
    """A period a report cannot cover; ``argument`` names what is wrong."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    """Inclusive."""

    @classmethod
    def of(cls, start: date, end: date) -> Period:
        if start > end:
            raise PeriodError("from", "must not be after to")
        if (end - start).days >= MAX_DAYS:
            raise PeriodError("to", f"the period must be at most {MAX_YEARS} years")
        return cls(start, end)

    def instants(self, time_zone: str) -> tuple[datetime, datetime]:
        """The period's first instant and the instant just after it, in UTC."""
        return day_start(self.start, time_zone), day_start(self.end + timedelta(days=1), time_zone)


def day_start(day: date, time_zone: str) -> datetime:
    """The store's first instant of ``day``: its midnight, or, where a daylight-saving
    change skips midnight, the instant clocks resume (the offset before the change,
    ``fold=0``, as PostgreSQL reads a local time that does not exist)."""
    return datetime.combine(day, time(), ZoneInfo(time_zone)).astimezone(UTC)


def today(time_zone: str, now: datetime | None = None) -> date:
    """The store's date at ``now`` (default: the clock)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(time_zone)).date()


def bucket_start(day: date, group_by: GroupBy) -> date:
    """The first day of the group ``day`` is in: itself, its ISO week's Monday, its month's 1st."""
    if group_by is GroupBy.DAY:
        return day
    if group_by is GroupBy.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def week_start(day: date) -> date:
    return bucket_start(day, GroupBy.WEEK)
