"""Overdue status and aging, computed from scratch by first-in-first-out settlement.

Conventions (the SQL in ``app/services/as_of.py`` and ``app/services/overdue.py``
follows the same ones):

* Entries are ledger amounts in minor units, in the order they were recorded:
  positive amounts are debits, negative amounts are credits.  Only entries
  created at or before ``as_of`` count.
* Corrections (issue 16) count by what they correct, not as plain debits and
  credits.  An entry that ``corrects`` another:

  - a credit correcting a debit *reduces* that debit: a void's reversal of its
    order's charge takes all of it (the charge counts as never made), a return
    takes its credit note off its own order's charge, never off the oldest;
  - a debit correcting a credit *cancels* it: a reversed payment (a bounced
    cheque, or a void's reversal of a counter payment) counts as never made, so
    the charges it had settled are unpaid again with their original due instants.

  Neither kind of correction is itself a debit or a credit.  Plain entries keep
  their meaning: a write-off is a credit (it settles the oldest debits first, as a
  payment does); a ``CORRECTION`` adjustment counts by its sign, a positive one as
  a new debit made (and so falling due) when it was recorded, a negative one as a
  credit, i.e. a payment.  A correction only counts from its own instant: at an
  ``as_of`` before it, the ledger reads as it did then.  The balance is the same
  either way (a correction's amount equals what it takes away).
* Credits settle the oldest debits first: everything credited settles the first
  units debited, in ledger order, so a credit larger than everything owed leaves a
  surplus that settles the next debits as they arrive.
* A debit is due ``terms_days`` x 24 hours after it was made: a day is exactly
  24 hours of UTC time, so daylight saving never moves a due instant.
* A debit is past due when its due instant is strictly before ``as_of``: at the
  due instant itself it is still current.
* Days past due count whole elapsed days: ``floor((as_of - due) / 24 h)`` for a
  debit past due, 0 for one that is not.  So a debit 5 hours past due is past due
  by 0 days; exactly 24 hours after its due instant it is 1 day past due.
  ``is_overdue`` therefore does not follow from ``days_overdue``: a customer is
  overdue by 0 days during the first 24 hours after the due instant.
* Aging puts each unsettled part of a debit in one bucket: ``current`` when it is
  not past due, otherwise by its whole days past due ``d``: ``1-30`` for
  ``d <= 30`` (including ``d = 0``, so that bucket starts at 0 days), ``31-60``,
  ``61-90``, ``over 90``.
* ``oldest_unpaid_at`` is when the oldest debit not fully settled was made;
  ``days_overdue`` is that debit's days past due; ``overdue_amount`` is the
  unsettled part of all debits that are past due.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Entry:
    amount: int
    created_at: datetime
    id: int | None = None
    """Needed only on an entry that a correction points at."""
    corrects: int | None = None
    """The ``id`` of the entry this one corrects (of the other sign), if it is a correction."""


class OverdueStatus(NamedTuple):
    """A NamedTuple, as ``CustomerRecord``: built for every customer of a page."""

    as_of: datetime
    balance: int
    """Balance at ``as_of``; negative when the customer is in credit."""
    oldest_unpaid_at: datetime | None
    overdue_amount: int
    days_overdue: int

    @property
    def is_overdue(self) -> bool:
        return self.overdue_amount > 0


@dataclass(frozen=True)
class AgingBucket:
    label: str
    past_due: bool
    """Whether the bucket holds what is past due; only ``current`` does not."""
    from_days: int
    """Inclusive lower bound in whole days past due."""
    to_days: int | None
    """Inclusive upper bound in whole days past due; ``None`` for the open-ended bucket."""

    def holds(self, due: datetime, as_of: datetime) -> bool:
        if (due < as_of) != self.past_due:
            return False
        days = days_past_due(due, as_of)
        return self.from_days <= days and (self.to_days is None or days <= self.to_days)


AGING_BUCKETS = (
    AgingBucket("current", False, 0, 0),
    AgingBucket("1-30", True, 0, 30),
    AgingBucket("31-60", True, 31, 60),
    AgingBucket("61-90", True, 61, 90),
    AgingBucket("over 90", True, 91, None),
)
"""``current`` holds what is not yet due; the others what is past due, by whole days."""


@dataclass(frozen=True)
class Aging:
    """One customer's (or, summed, a business's) unsettled debits by days past due."""

    amounts: tuple[int, ...]
    """Per bucket of ``AGING_BUCKETS``, in the same order."""

    @property
    def total(self) -> int:
        return sum(self.amounts)


def due_at(made_at: datetime, terms_days: int) -> datetime:
    return made_at + terms_days * DAY


def days_past_due(due: datetime, as_of: datetime) -> int:
    """Whole days elapsed since ``due``, floored: 0 until 24 hours have passed, and before it."""
    return max((as_of - due) // DAY, 0)


@dataclass
class _Open:
    made_at: datetime
    unsettled: int


def _counted(entries: Iterable[Entry], as_of: datetime) -> tuple[list[_Open], int]:
    """The debits as they count at ``as_of`` (reduced by their corrections, fully
    reduced ones left out), in ledger order, and the credits not cancelled, summed."""
    entries = [entry for entry in entries if entry.created_at <= as_of]
    by_id = {entry.id: entry for entry in entries if entry.id is not None}
    reduced: dict[int, int] = {}
    cancelled: set[int] = set()
    for entry in entries:
        if entry.corrects is None:
            continue
        target = by_id.get(entry.corrects)
        if target is None or (target.amount > 0) == (entry.amount > 0):
            raise ValueError(f"{entry} corrects no earlier entry of the other sign")
        if entry.amount < 0:
            reduced[entry.corrects] = reduced.get(entry.corrects, 0) - entry.amount
        elif entry.amount != -target.amount or entry.corrects in cancelled:
            raise ValueError(f"{entry} does not cancel exactly one whole credit")
        else:
            cancelled.add(entry.corrects)
    debits: list[_Open] = []
    credited = 0
    for entry in entries:
        if entry.corrects is not None or entry.id in cancelled:
            continue
        if entry.amount < 0:
            credited -= entry.amount
            continue
        left = entry.amount - (0 if entry.id is None else reduced.get(entry.id, 0))
        if left < 0:
            raise ValueError(f"{entry} is reduced by more than its amount")
        if left:
            debits.append(_Open(entry.created_at, left))
    return debits, credited


def _unsettled(entries: Iterable[Entry], as_of: datetime) -> tuple[list[_Open], int]:
    """Debits still (partly) unsettled at ``as_of``, oldest first, and any surplus credit."""
    debits, credit = _counted(entries, as_of)
    open_debits: deque[_Open] = deque(debits)
    while credit and open_debits:
        oldest = open_debits[0]
        applied = min(credit, oldest.unsettled)
        oldest.unsettled -= applied
        credit -= applied
        if oldest.unsettled == 0:
            open_debits.popleft()
    return list(open_debits), credit


def overdue_status(entries: Iterable[Entry], *, as_of: datetime, terms_days: int) -> OverdueStatus:
    open_debits, surplus = _unsettled(entries, as_of)
    owed = sum(debit.unsettled for debit in open_debits)
    past_due = [d for d in open_debits if due_at(d.made_at, terms_days) < as_of]
    oldest = open_debits[0].made_at if open_debits else None
    return OverdueStatus(
        as_of=as_of,
        balance=owed - surplus,
        oldest_unpaid_at=oldest,
        overdue_amount=sum(debit.unsettled for debit in past_due),
        days_overdue=0 if oldest is None else days_past_due(due_at(oldest, terms_days), as_of),
    )


def aging(entries: Iterable[Entry], *, as_of: datetime, terms_days: int) -> Aging:
    open_debits, _ = _unsettled(entries, as_of)
    amounts = [0] * len(AGING_BUCKETS)
    for debit in open_debits:
        due = due_at(debit.made_at, terms_days)
        index = next(i for i, bucket in enumerate(AGING_BUCKETS) if bucket.holds(due, as_of))
        amounts[index] += debit.unsettled
    return Aging(tuple(amounts))


def status_from_totals(
    *,
    as_of: datetime,
    terms_days: int,
    charged: int,
    credited: int,
    oldest_unpaid_at: datetime | None,
    charged_past_due: int,
) -> OverdueStatus:
    """The same status from running totals, as the batched SQL reads them.

    ``charged`` and ``credited`` are the running totals of the last entry at or
    before ``as_of``; ``charged_past_due`` is the running charged total of the last
    entry made strictly before ``as_of - terms``, i.e. of every debit now past due.
    Credits settle the first ``credited`` units charged, so what is past due and
    unsettled is whatever of ``charged_past_due`` lies beyond ``credited``.  Running
    totals do not see corrections: for a customer with one counting at ``as_of``
    the SQL passes ``credited`` plus what it found unsettled and past due, debit by
    debit, as ``charged_past_due``, and the oldest unpaid debit it found.
    """
    balance = charged - credited
    oldest = oldest_unpaid_at if balance > 0 else None
    return OverdueStatus(
        as_of=as_of,
        balance=balance,
        oldest_unpaid_at=oldest,
        overdue_amount=max(charged_past_due - credited, 0) if oldest is not None else 0,
        days_overdue=0 if oldest is None else days_past_due(due_at(oldest, terms_days), as_of),
    )
