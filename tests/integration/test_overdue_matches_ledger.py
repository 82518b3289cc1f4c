"""The batched SQL and the cached columns agree with FIFO computed from scratch.

Random histories (seeded, so a failure replays) of charges, payments,
overpayments, every kind of correction (voided charges, partial returns of a
charge, reversed payments, write-offs, corrections either way), entries sharing
an instant and entries written out of time order, for customers on several
payment terms; then, at many ``asOf``
instants (past ones that need the ledger, exact due instants and their
neighbours, the instants where whole days past due change, future ones that use
the cached columns), every batched answer is compared with
``app.domain.overdue`` run over the customer's entries.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.domain.overdue import AGING_BUCKETS, DAY, Entry, aging, due_at, overdue_status
from app.services import admin, overdue
from app.services.unit_of_work import UnitOfWork, UnitsOfWork
from tests.ledger_data import Posting, add_customer, post

US = timedelta(microseconds=1)
WHOLE_DAY_EDGES = [US, DAY - US, DAY, 2 * DAY - US, 2 * DAY, 31 * DAY - US, 31 * DAY]
WHOLE_DAY_EDGES += [61 * DAY - US, 61 * DAY, 91 * DAY - US, 91 * DAY, 100 * DAY - US, 100 * DAY]
"""After a due instant: where days overdue, the overdue list's ``minDaysOverdue`` (0, 1,
2, 31, 100) and the aging buckets (from 0, 31, 61, 91 whole days) change their answers."""
TERMS = [None, None, None, 0, 7, 45]
BUSINESS_TERMS = 30


def random_history(rng: random.Random, start: datetime, end: datetime) -> list[Posting]:
    postings: list[Posting] = []
    owed = 0
    returnable: dict[int, int] = {}
    """Charges not voided, by index: what is left to return of each."""
    untouched: set[int] = set()
    """Charges neither voided nor returned from: those a void may take."""
    payments: list[int] = []
    """Payments not reversed, by index."""
    at = start
    for _ in range(rng.randint(0, 16)):
        roll = rng.random()
        if roll < 0.15 and postings:
            pass  # same instant as the previous entry
        elif roll < 0.2 and postings:
            at -= timedelta(hours=rng.randint(1, 48))  # out of order: the trigger raises it
        else:
            at = min(at + timedelta(seconds=rng.randint(1, 40 * 86_400)), end)
        kind = rng.random()
        index = len(postings)
        if kind < 0.45 or (owed <= 0 and kind < 0.65):
            postings.append(Posting("charge", rng.randint(1, 50_000), at))
            returnable[index] = postings[-1].amount
            untouched.add(index)
        elif kind < 0.68:
            paid = owed if owed > 0 and rng.random() < 0.2 else rng.randint(1, max(owed, 1) + 5_000)
            postings.append(Posting("payment", -paid, at))
            payments.append(index)
        elif kind < 0.74 and untouched:
            voided = rng.choice(sorted(untouched))
            untouched.discard(voided)
            del returnable[voided]
            postings.append(Posting("reversal", -postings[voided].amount, at, reverses=voided))
        elif kind < 0.82 and returnable:
            charge = rng.choice(sorted(returnable))
            amount = rng.randint(1, returnable[charge])
            untouched.discard(charge)
            returnable[charge] -= amount
            if not returnable[charge]:
                del returnable[charge]
            postings.append(Posting("return", -amount, at, reverses=charge))
        elif kind < 0.9 and payments:
            bounced = payments.pop(rng.randrange(len(payments)))
            postings.append(Posting("reversal", -postings[bounced].amount, at, reverses=bounced))
        elif kind < 0.95:
            amount = -rng.randint(1, max(owed, 1))
            postings.append(Posting("adjustment", amount, at, adjustment="WRITE_OFF"))
        else:
            amount = rng.choice([-1, 1]) * rng.randint(1, 20_000)
            postings.append(Posting("adjustment", amount, at, adjustment="CORRECTION"))
        owed += postings[-1].amount
    return postings


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_batched_overdue_and_aging_match_fifo_from_scratch(
    seed: int, owner_db: AsyncEngine, app_db: AsyncEngine, app_pool: DriverPool
) -> None:
    rng = random.Random(seed)
    business = await admin.create_business(owner_db, name=f"Fuzz {seed}", terms_days=BUSINESS_TERMS)
    now = datetime.now(UTC)
    start = now - timedelta(days=250)
    history: dict[int, tuple[int, list[Entry]]] = {}
    for n in range(40):
        own_terms = rng.choice(TERMS)
        customer = await add_customer(owner_db, business, name=f"C{n}", terms_days=own_terms)
        entries = await post(owner_db, business, customer, random_history(rng, start, now))
        history[customer] = (BUSINESS_TERMS if own_terms is None else own_terms, entries)

    instants = [start - DAY, now + 40 * DAY, now + 400 * DAY]
    instants += [start + rng.random() * (now - start) for _ in range(4)]
    for _ in range(4):
        terms, entries = history[rng.choice(list(history))]
        if entries:
            made = rng.choice(entries).created_at
            instants += [made, due_at(made, terms), due_at(made, terms) + US]
    owing = [
        c for c, (t, e) in history.items() if overdue_status(e, as_of=now, terms_days=t).balance > 0
    ]
    for customer in rng.sample(owing, min(2, len(owing))):
        terms, entries = history[customer]
        oldest = overdue_status(entries, as_of=now, terms_days=terms).oldest_unpaid_at
        assert oldest is not None
        instants += [due_at(oldest, terms) + edge for edge in WHOLE_DAY_EDGES]

    async with UnitOfWork(app_db, business) as uow:
        await _check_cached_columns(uow, history)
    units = UnitsOfWork(app_db, app_pool, business)
    for as_of in [None, *instants]:
        await _check_statuses(units, history, as_of)
        await _check_aging(units, history, as_of)
    for as_of in instants:
        for min_days in (0, 1, 2, 31, 100):
            await _check_overdue_list(units, history, as_of, min_days)


async def _check_cached_columns(
    uow: UnitOfWork, history: dict[int, tuple[int, list[Entry]]]
) -> None:
    rows = await uow.execute(
        text("SELECT id, balance, oldest_unpaid_at FROM customers WHERE id = ANY(:ids)"),
        {"ids": list(history)},
    )
    far = datetime.max.replace(tzinfo=UTC) - 400 * DAY
    for row in rows:
        terms, entries = history[row.id]
        expected = overdue_status(entries, as_of=far, terms_days=terms)
        assert (row.balance, row.oldest_unpaid_at) == (
            expected.balance,
            expected.oldest_unpaid_at,
        ), row.id


async def _check_statuses(
    units: UnitsOfWork, history: dict[int, tuple[int, list[Entry]]], as_of: datetime | None
) -> None:
    found = await overdue.overdue_statuses(units, customer_ids=list(history), as_of=as_of)
    assert set(found) == set(history)
    for customer, status in found.items():
        terms, entries = history[customer]
        expected = overdue_status(entries, as_of=as_of or status.as_of, terms_days=terms)
        assert status == expected, (customer, as_of)
        # Equal is not enough: Decimal(5) == 5, and the amounts are ints all the way.
        amounts = (status.balance, status.overdue_amount, status.days_overdue)
        assert [type(amount) for amount in amounts] == [int, int, int], (customer, as_of)


async def _check_aging(
    units: UnitsOfWork, history: dict[int, tuple[int, list[Entry]]], as_of: datetime | None
) -> None:
    report = await overdue.aging_report(units, as_of=as_of)
    amounts = [0] * len(AGING_BUCKETS)
    counts = [0] * len(AGING_BUCKETS)
    owing = 0
    for terms, entries in history.values():
        mine = aging(entries, as_of=report.as_of, terms_days=terms)
        owing += mine.total > 0
        for i, amount in enumerate(mine.amounts):
            amounts[i] += amount
            counts[i] += amount > 0
    assert report.amounts == tuple(amounts), as_of
    assert report.customer_counts == tuple(counts), as_of
    assert report.customers_owing == owing
    positive_balances = sum(
        max(overdue_status(e, as_of=report.as_of, terms_days=t).balance, 0)
        for t, e in history.values()
    )
    assert report.total == positive_balances


async def _check_overdue_list(
    units: UnitsOfWork,
    history: dict[int, tuple[int, list[Entry]]],
    as_of: datetime,
    min_days: int,
) -> None:
    expected = []
    for customer, (terms, entries) in history.items():
        status = overdue_status(entries, as_of=as_of, terms_days=terms)
        if status.is_overdue and status.days_overdue >= min_days:
            assert status.oldest_unpaid_at is not None
            expected.append((due_at(status.oldest_unpaid_at, terms), customer, status))
    expected.sort(key=lambda item: item[:2])

    listed = []
    after = None
    while True:
        page = await overdue.overdue_customers(
            units, as_of=as_of, min_days=min_days, limit=7, after=after
        )
        listed += [(row.due_at, row.customer.id, row.status) for row in page]
        if len(page) < 7:
            break
        after = (page[-1].due_at, page[-1].customer.id)
    assert listed == expected, (as_of, min_days)
