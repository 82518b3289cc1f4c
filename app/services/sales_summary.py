"""Sales and collections per day, week or month, read from ``sales_summaries``.

The summary rows (migration ``0017_sales_summaries``) are 15-minute slots kept exact
by triggers in the transaction of every sale, payment and correction; a period is a
whole number of slots (``app.domain.reports``), so adding up its slots gives the
same figures as adding up its rows, at the cost of at most 96 x 4 rows a day.  Voids
and returns count on the day they are made: a bucket's ``net`` is its sales less the
corrections made in it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import cache
from typing import Any

from app.domain.purchases import PaymentMethod
from app.domain.reports import GroupBy, Period, bucket_start
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork

METHODS = tuple(PaymentMethod)


@dataclass(frozen=True)
class MethodTotals:
    method: PaymentMethod
    received: int
    refunded: int
    reversed: int

    @property
    def net(self) -> int:
        return self.received - self.refunded - self.reversed


@dataclass(frozen=True)
class Bucket:
    start: date
    """The group's first day within the period."""
    bills: int
    paid_in_full: int
    partly_paid: int
    on_credit: int
    gross: int
    """Lines at their prices, before discounts (and before tax added on top)."""
    discount: int
    tax: int
    total: int
    """What the bills came to."""
    paid: int
    """Paid at the counter."""
    credit: int
    """Left on the customers' balances: ``total - paid``."""
    voids: int
    voided: int
    returns: int
    returned: int
    methods: tuple[MethodTotals, ...]

    @property
    def corrections(self) -> int:
        """Voided totals and credit notes made in the bucket."""
        return self.voided + self.returned

    @property
    def net(self) -> int:
        return self.total - self.corrections

    @property
    def received(self) -> int:
        return sum(method.received for method in self.methods)


SALES = (
    "bills", "paid_in_full", "partly_paid", "on_credit", "gross", "discount", "tax", "total",
    "paid", "credit", "voids", "voided", "returns", "returned",
)  # fmt: skip
MONEY = tuple(
    f"{kind}_{method.value.lower()}"
    for method in METHODS
    for kind in ("received", "refunded", "reversed")
)
_COUNTS = [f.name for f in fields(Bucket)][1:-1]
assert tuple(_COUNTS) == SALES


@cache
def _statement() -> ReadQuery:
    sums = ", ".join(f"sum(s.{column}) AS {column}" for column in SALES + MONEY)
    return ReadQuery(
        f"""
        WITH z AS MATERIALIZED (
            SELECT b.time_zone AS tz, CAST(:lo AS timestamptz) AS lo,
                   CAST(:hi AS timestamptz) AS hi
              FROM businesses b WHERE b.id = {TENANT}
        )
        SELECT CAST(date_trunc(CAST(:unit AS text), s.slot AT TIME ZONE z.tz) AS date) AS bucket,
               {sums}
          FROM z, sales_summaries s
         WHERE s.business_id = {TENANT} AND s.slot >= z.lo AND s.slot < z.hi
         GROUP BY 1
        """
    )


def _bucket(start: date, rows: list[Any]) -> Bucket:
    def value(column: str) -> int:
        return sum(int(row[column] or 0) for row in rows)

    methods = tuple(
        MethodTotals(
            method,
            received=value(f"received_{method.value.lower()}"),
            refunded=value(f"refunded_{method.value.lower()}"),
            reversed=value(f"reversed_{method.value.lower()}"),
        )
        for method in METHODS
    )
    counts = {column: value(column) for column in SALES}
    return Bucket(start, methods=methods, **counts)


def bucket_starts(period: Period, group_by: GroupBy) -> list[date]:
    """Each group's first day within the period, in order."""
    starts = [period.start]
    day = bucket_start(period.start, group_by)
    while True:
        if group_by is GroupBy.DAY:
            day += timedelta(days=1)
        elif group_by is GroupBy.WEEK:
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        if day > period.end:
            return starts
        starts.append(day)


async def sales_summary(
    units: UnitsOfWork, *, period: Period, group_by: GroupBy, time_zone: str
) -> list[Bucket]:
    """One bucket per group of the period, empty groups included."""
    lo, hi = period.instants(time_zone)
    rows = await _statement().fetch(units, {"lo": lo, "hi": hi, "unit": group_by.value})
    found: dict[date, list[Any]] = {}
    for row in rows:
        found.setdefault(max(row["bucket"], period.start), []).append(row)
    return [_bucket(start, found.get(start, [])) for start in bucket_starts(period, group_by)]


async def period_totals(units: UnitsOfWork, *, period: Period, time_zone: str) -> Bucket:
    """The whole period as one bucket."""
    lo, hi = period.instants(time_zone)
    rows = await _statement().fetch(units, {"lo": lo, "hi": hi, "unit": GroupBy.MONTH.value})
    return _bucket(period.start, rows)


@cache
def _time_zone_statement() -> ReadQuery:
    return ReadQuery(f"SELECT b.time_zone FROM businesses b WHERE b.id = {TENANT}")


async def store_time_zone(units: UnitsOfWork) -> str:
    """The store's IANA time zone, in which its days are counted."""
    (row,) = await _time_zone_statement().fetch(units, {})
    return str(row["time_zone"])
