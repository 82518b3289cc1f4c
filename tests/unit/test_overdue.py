"""First-in-first-out overdue arithmetic, from scratch and from running totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.overdue import (
    AGING_BUCKETS,
    DAY,
    Entry,
    OverdueStatus,
    aging,
    days_past_due,
    due_at,
    overdue_status,
    status_from_totals,
)

T0 = datetime(2025, 1, 1, 9, 30, tzinfo=UTC)
US = timedelta(microseconds=1)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def charge(amount: int, days: float) -> Entry:
    return Entry(amount, at(days))


def pay(amount: int, days: float) -> Entry:
    return Entry(-amount, at(days))


def status(entries: list[Entry], as_of: datetime, terms: int = 30) -> OverdueStatus:
    return overdue_status(entries, as_of=as_of, terms_days=terms)


def test_a_customer_without_entries_owes_nothing() -> None:
    result = status([], at(100))
    assert result == OverdueStatus(at(100), 0, None, 0, 0)
    assert not result.is_overdue


def test_a_charge_is_current_until_its_due_instant_inclusive() -> None:
    entries = [charge(1000, 0)]
    at_due = status(entries, at(30))
    assert at_due.balance == 1000
    assert at_due.oldest_unpaid_at == at(0)
    assert not at_due.is_overdue
    assert at_due.overdue_amount == 0
    assert at_due.days_overdue == 0


def test_a_charge_is_overdue_by_zero_days_one_microsecond_after_its_due_instant() -> None:
    result = status([charge(1000, 0)], at(30) + US)
    assert result.is_overdue
    assert result.overdue_amount == 1000
    assert result.days_overdue == 0


@pytest.mark.parametrize(
    ("late", "is_overdue", "days"),
    [
        (-US, False, 0),
        (timedelta(0), False, 0),
        (US, True, 0),
        (timedelta(hours=5), True, 0),
        (DAY - US, True, 0),
        (DAY, True, 1),
        (DAY + US, True, 1),
        (2 * DAY - US, True, 1),
        (2 * DAY, True, 2),
        (45 * DAY, True, 45),
    ],
)
def test_days_overdue_count_whole_days_elapsed_since_the_due_instant(
    late: timedelta, is_overdue: bool, days: int
) -> None:
    result = status([charge(1000, 0)], due_at(at(0), 30) + late)
    assert (result.is_overdue, result.days_overdue) == (is_overdue, days)
    assert result.overdue_amount == (1000 if is_overdue else 0)


def test_thirty_days_and_an_hour_after_a_charge_on_thirty_day_terms_is_zero_days_overdue() -> None:
    result = status([charge(1000, 0)], at(30) + timedelta(hours=1))
    assert result.is_overdue
    assert result.days_overdue == 0


def test_thirty_five_days_after_a_charge_on_thirty_day_terms_is_five_days_overdue() -> None:
    entries = [charge(1000, 0)]
    assert status(entries, at(35) + timedelta(milliseconds=3)).days_overdue == 5
    assert status(entries, at(35) - US).days_overdue == 4
    assert not status(entries, at(35), terms=45).is_overdue


def test_entries_after_as_of_are_ignored() -> None:
    entries = [charge(1000, 0), pay(1000, 40)]
    assert status(entries, at(39)).overdue_amount == 1000
    assert status(entries, at(40)).balance == 0
    assert status(entries, at(40)).oldest_unpaid_at is None


def test_a_partial_payment_settles_the_oldest_charge_first() -> None:
    entries = [charge(1000, 0), charge(500, 20), pay(600, 25)]
    result = status(entries, at(45))
    assert result.balance == 900
    assert result.oldest_unpaid_at == at(0)
    assert result.overdue_amount == 400  # what is left of the first charge
    assert result.days_overdue == 15


def test_once_the_oldest_charge_is_paid_the_next_one_sets_the_clock() -> None:
    entries = [charge(1000, 0), charge(500, 20), pay(1000, 25)]
    result = status(entries, at(45))
    assert result.oldest_unpaid_at == at(20)
    assert not result.is_overdue
    assert status(entries, at(50)).overdue_amount == 0
    assert status(entries, at(50) + US).overdue_amount == 500
    assert status(entries, at(51)).days_overdue == 1


def test_only_charges_past_their_own_due_instant_are_overdue() -> None:
    entries = [charge(100, 0), charge(200, 10), charge(400, 40)]
    result = status(entries, at(41))
    assert result.balance == 700
    assert result.overdue_amount == 300
    assert result.days_overdue == 11


def test_the_customers_own_terms_decide_the_due_instant() -> None:
    entries = [charge(100, 0)]
    assert not status(entries, at(7), terms=7).is_overdue
    assert status(entries, at(7) + US, terms=7).is_overdue
    assert status(entries, at(8), terms=7).days_overdue == 1
    assert not status(entries, at(8), terms=30).is_overdue
    assert status(entries, at(8), terms=30).days_overdue == 0
    assert not status(entries, at(0), terms=0).is_overdue
    assert status(entries, at(0) + US, terms=0).is_overdue
    assert status(entries, at(1), terms=0).days_overdue == 1


def test_a_credit_balance_is_never_overdue_and_settles_later_charges() -> None:
    entries = [charge(100, 0), pay(100, 1), Entry(-50, at(2)), charge(80, 3)]
    in_credit = status(entries, at(2.5))
    assert in_credit.balance == -50
    assert in_credit.oldest_unpaid_at is None
    assert not in_credit.is_overdue
    later = status(entries, at(40))
    assert later.balance == 30
    assert later.oldest_unpaid_at == at(3)
    assert later.overdue_amount == 30


def test_a_debit_that_corrects_nothing_is_a_new_charge_dated_when_it_was_made() -> None:
    entries = [charge(100, 0), pay(100, 5), Entry(100, at(10))]
    result = status(entries, at(35))
    assert result.balance == 100
    assert result.oldest_unpaid_at == at(10)
    assert not result.is_overdue
    assert status(entries, at(40) + US).is_overdue
    assert status(entries, at(41)).days_overdue == 1


def test_a_credit_that_corrects_nothing_settles_the_oldest_charge() -> None:
    entries = [charge(100, 0), charge(50, 1), Entry(-100, at(2))]
    result = status(entries, at(31) + US)
    assert result.balance == 50
    assert result.oldest_unpaid_at == at(1)
    assert result.overdue_amount == 50


def test_aging_puts_each_unpaid_portion_in_its_own_bucket() -> None:
    entries = [
        charge(1, 0),  # 120 days past due at day 150
        charge(10, 80),  # 40
        charge(100, 100),  # 20
        charge(1000, 140),  # not yet due
        pay(1, 145),
    ]
    report = aging(entries, as_of=at(150), terms_days=30)
    assert report.amounts == (1000, 100, 10, 0, 0)
    assert report.total == 1110


@pytest.mark.parametrize(
    ("late", "bucket"),
    [
        (-DAY, "current"),
        (timedelta(0), "current"),
        (US, "1-30"),
        (DAY - US, "1-30"),
        (DAY, "1-30"),
        (31 * DAY - US, "1-30"),
        (31 * DAY, "31-60"),
        (61 * DAY - US, "31-60"),
        (61 * DAY, "61-90"),
        (91 * DAY - US, "61-90"),
        (91 * DAY, "over 90"),
        (3650 * DAY, "over 90"),
    ],
)
def test_aging_bucket_boundaries(late: timedelta, bucket: str) -> None:
    report = aging([charge(7, 0)], as_of=due_at(at(0), 30) + late, terms_days=30)
    labels = [b.label for b in AGING_BUCKETS]
    assert report.amounts[labels.index(bucket)] == 7
    assert report.total == 7


def test_a_past_due_buckets_bounds_hold_the_days_overdue_of_what_it_holds() -> None:
    past_due = [b for b in AGING_BUCKETS if b.past_due]
    assert [(b.from_days, b.to_days) for b in past_due] == [
        (0, 30), (31, 60), (61, 90), (91, None),
    ]  # fmt: skip
    for hours in range(1, 100 * 24, 7):
        as_of = due_at(at(0), 30) + timedelta(hours=hours)
        days = status([charge(7, 0)], as_of).days_overdue
        (holder,) = [b for b in AGING_BUCKETS if b.holds(due_at(at(0), 30), as_of)]
        assert holder.past_due
        assert holder.from_days <= days
        assert holder.to_days is None or days <= holder.to_days


def test_days_past_due_is_exact_to_the_microsecond_far_in_the_future() -> None:
    due = at(0)
    assert days_past_due(due, due + 3650 * DAY - US) == 3649
    assert days_past_due(due, due + 3650 * DAY) == 3650
    assert days_past_due(due, due + 3650 * DAY + US) == 3650
    assert days_past_due(due, due - US) == 0
    assert days_past_due(due, due - 3650 * DAY) == 0


# Random sequences: the running-totals formula the SQL uses must agree with FIFO.

_steps = st.lists(
    st.tuples(
        st.integers(min_value=-5_000, max_value=5_000).filter(bool),
        st.integers(min_value=0, max_value=20 * 24 * 60),  # minutes after the previous entry
    ),
    max_size=30,
)


def _entries(steps: list[tuple[int, int]]) -> list[Entry]:
    entries, now = [], T0
    for amount, gap in steps:
        now += timedelta(minutes=gap)
        entries.append(Entry(amount, now))
    return entries


def _from_totals(entries: list[Entry], as_of: datetime, terms: int) -> OverdueStatus:
    charged = credited = 0
    charged_past_due = 0
    firsts: list[tuple[int, datetime]] = []  # (running charged total, made at) per debit
    for entry in entries:
        if entry.created_at > as_of:
            break
        if entry.amount > 0:
            charged += entry.amount
            firsts.append((charged, entry.created_at))
        else:
            credited -= entry.amount
        if entry.created_at < as_of - terms * DAY:
            charged_past_due = charged
    oldest = next((made for total, made in firsts if total > credited), None)
    return status_from_totals(
        as_of=as_of, terms_days=terms, charged=charged, credited=credited,
        oldest_unpaid_at=oldest, charged_past_due=charged_past_due,
    )  # fmt: skip


@given(
    steps=_steps,
    as_of_minutes=st.integers(min_value=0, max_value=400 * 24 * 60),
    terms=st.sampled_from([0, 1, 7, 30, 45]),
)
def test_running_totals_agree_with_fifo_settlement(
    steps: list[tuple[int, int]], as_of_minutes: int, terms: int
) -> None:
    entries = _entries(steps)
    as_of = T0 + timedelta(minutes=as_of_minutes)
    fifo = overdue_status(entries, as_of=as_of, terms_days=terms)
    assert _from_totals(entries, as_of, terms) == fifo
    report = aging(entries, as_of=as_of, terms_days=terms)
    assert report.total == max(fifo.balance, 0)
    assert report.total - report.amounts[0] == fifo.overdue_amount
    if fifo.is_overdue:
        assert fifo.oldest_unpaid_at is not None
        due = due_at(fifo.oldest_unpaid_at, terms)
        assert due + fifo.days_overdue * DAY <= as_of < due + (fifo.days_overdue + 1) * DAY
    else:
        assert fifo.days_overdue == 0


# Corrections (issue 16): each points at the entry it corrects.


def test_a_voided_charge_no_longer_counts_from_the_void_on() -> None:
    entries = [
        Entry(100, at(0), id=1),
        Entry(50, at(10), id=2),
        Entry(-50, at(20), id=3, corrects=2),
    ]
    result = status(entries, at(45))
    assert (result.balance, result.oldest_unpaid_at, result.overdue_amount) == (100, at(0), 100)
    assert status(entries, at(20) - US).balance == 150
    assert aging(entries, as_of=at(45), terms_days=30).amounts == (0, 100, 0, 0, 0)


def test_voiding_the_oldest_charge_moves_the_clock_to_the_next_one() -> None:
    entries = [Entry(100, at(0), id=1), charge(50, 10), Entry(-100, at(20), corrects=1)]
    result = status(entries, at(35))
    assert (result.balance, result.oldest_unpaid_at, result.is_overdue) == (50, at(10), False)


def test_a_return_reduces_its_own_orders_charge_not_the_oldest() -> None:
    entries = [
        Entry(100, at(0), id=1),
        Entry(40, at(10), id=2),
        Entry(-30, at(20), corrects=2),
    ]
    result = status(entries, at(35))
    assert (result.balance, result.oldest_unpaid_at, result.overdue_amount) == (110, at(0), 100)
    assert aging(entries, as_of=at(35), terms_days=30).amounts == (10, 100, 0, 0, 0)


def test_a_charge_returned_in_full_over_several_returns_no_longer_counts() -> None:
    entries = [
        Entry(100, at(0), id=1),
        Entry(40, at(10), id=2),
        pay(40, 12),
        Entry(-30, at(20), corrects=1),
        Entry(-70, at(21), corrects=1),
    ]
    result = status(entries, at(50))
    assert (result.balance, result.oldest_unpaid_at, result.is_overdue) == (0, None, False)


def test_a_reversed_payment_counts_as_never_made_so_its_charges_keep_their_due_dates() -> None:
    entries = [
        charge(100, 0),
        Entry(-100, at(5), id=2),
        charge(30, 40),
        Entry(100, at(50), corrects=2),
    ]
    while_it_stood = status(entries, at(50) - US)
    assert (while_it_stood.oldest_unpaid_at, while_it_stood.is_overdue) == (at(40), False)
    bounced = status(entries, at(50))
    assert (bounced.balance, bounced.oldest_unpaid_at, bounced.overdue_amount) == (130, at(0), 100)
    assert bounced.days_overdue == 20


def test_a_write_off_settles_the_oldest_charges_first_like_a_payment() -> None:
    entries = [charge(100, 0), charge(40, 10), Entry(-100, at(20))]
    result = status(entries, at(35))
    assert (result.balance, result.oldest_unpaid_at, result.is_overdue) == (40, at(10), False)


def test_a_positive_correction_is_a_new_charge_dated_when_it_was_made() -> None:
    entries = [charge(100, 0), pay(100, 5), Entry(25, at(50))]
    result = status(entries, at(79))
    assert (result.balance, result.oldest_unpaid_at, result.is_overdue) == (25, at(50), False)
    assert status(entries, at(81)).days_overdue == 1


@pytest.mark.parametrize(
    "entries",
    [
        [Entry(-10, at(1), corrects=9)],  # points at nothing
        [Entry(100, at(0), id=1), Entry(10, at(1), corrects=1)],  # a debit at a debit
        [Entry(100, at(0), id=1), Entry(-60, at(1), corrects=1), Entry(-60, at(2), corrects=1)],
        [Entry(-100, at(0), id=1), Entry(60, at(1), corrects=1)],  # part of a payment
        [Entry(-100, at(0), id=1), Entry(100, at(1), corrects=1), Entry(100, at(2), corrects=1)],
    ],
)
def test_a_correction_the_ledger_could_not_hold_is_refused(entries: list[Entry]) -> None:
    with pytest.raises(ValueError, match="Entry"):
        status(entries, at(10))


# Random histories with every kind of correction: the balance is still the sum of
# the entries, and the status is that of the history rewritten as if the
# corrections had been made in place (charges reduced, payments never made).


@st.composite
def _corrected_histories(draw: st.DrawFn) -> list[Entry]:
    entries: list[Entry] = []
    left: dict[int, int] = {}  # charges not voided: what is left to return
    untouched: set[int] = set()  # charges a void may still take
    payments: list[int] = []
    now = T0
    for n in range(draw(st.integers(0, 25))):
        now += timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        amount = draw(st.integers(1, 5_000))
        kind = draw(st.sampled_from(["charge", "payment", "void", "return", "bounce", "plain"]))
        if kind == "void" and untouched:
            target = draw(st.sampled_from(sorted(untouched)))
            untouched.discard(target)
            del left[target]
            entries.append(Entry(-entries[target - 1].amount, now, n + 1, corrects=target))
        elif kind == "return" and left:
            target = draw(st.sampled_from(sorted(left)))
            amount = min(amount, left[target])
            untouched.discard(target)
            left[target] -= amount
            if not left[target]:
                del left[target]
            entries.append(Entry(-amount, now, n + 1, corrects=target))
        elif kind == "bounce" and payments:
            target = payments.pop(draw(st.integers(0, len(payments) - 1)))
            entries.append(Entry(-entries[target - 1].amount, now, n + 1, corrects=target))
        elif kind == "payment":
            entries.append(Entry(-amount, now, n + 1))
            payments.append(n + 1)
        elif kind == "plain":  # a write-off or a correction either way
            entries.append(Entry(draw(st.sampled_from([-1, 1])) * amount, now, n + 1))
        else:
            entries.append(Entry(amount, now, n + 1))
            left[n + 1] = amount
            untouched.add(n + 1)
    return entries


def _rewritten(entries: list[Entry], as_of: datetime) -> list[Entry]:
    """The history as if every correction made by ``as_of`` had been made in place."""
    counted = [entry for entry in entries if entry.created_at <= as_of]
    taken = {entry.id: 0 for entry in counted}
    for entry in counted:
        if entry.corrects is not None:
            taken[entry.corrects] += -entry.amount if entry.amount < 0 else entry.amount
    return [
        Entry(entry.amount - taken[entry.id], entry.created_at)
        for entry in counted
        if entry.corrects is None and entry.amount - taken[entry.id] > 0
    ] + [
        Entry(entry.amount, entry.created_at)
        for entry in counted
        if entry.corrects is None and entry.amount < 0 and taken[entry.id] == 0
    ]


@given(
    entries=_corrected_histories(),
    as_of_minutes=st.integers(min_value=0, max_value=400 * 24 * 60),
    terms=st.sampled_from([0, 7, 30]),
)
def test_corrections_count_as_if_made_in_place(
    entries: list[Entry], as_of_minutes: int, terms: int
) -> None:
    as_of = T0 + timedelta(minutes=as_of_minutes)
    result = overdue_status(entries, as_of=as_of, terms_days=terms)
    assert result.balance == sum(e.amount for e in entries if e.created_at <= as_of)
    in_place = sorted(_rewritten(entries, as_of), key=lambda e: (e.created_at, e.amount < 0))
    assert result == overdue_status(in_place, as_of=as_of, terms_days=terms)
    report = aging(entries, as_of=as_of, terms_days=terms)
    assert report == aging(in_place, as_of=as_of, terms_days=terms)
    assert report.total == max(result.balance, 0)
    assert report.total - report.amounts[0] == result.overdue_amount
