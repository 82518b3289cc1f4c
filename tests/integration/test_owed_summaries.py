"""What is owed and overdue, kept by the quarter hour (migration 0022), equals FIFO
computed from scratch.

Random histories (those of ``test_overdue_matches_ledger``: every kind of correction,
entries sharing an instant or written out of time order, customers on several
terms) are written through the triggers; then ``app.services.verify`` finds the
summaries equal to ``owed_expected()`` (the histories' orders have no items, so
only its owed checks are read), and the dashboard's figures at instants
after the history (a due instant and the microseconds either side, the edges of a
quarter hour and of a day, later ones) equal ``app.domain.overdue`` summed over
the customers: before and after the changes are folded, after a customer's terms
change, and after one statement reverses two payments of one customer.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.domain.overdue import DAY, Entry, due_at, overdue_status
from app.services import admin, dashboard, verify
from app.services.unit_of_work import UnitsOfWork
from tests.integration.test_overdue_matches_ledger import BUSINESS_TERMS, TERMS, random_history
from tests.ledger_data import Posting, _bind, add_customer, charge, post

US = timedelta(microseconds=1)
SLOT = timedelta(minutes=15)
History = dict[int, tuple[int, list[Entry]]]


async def _figures(units: UnitsOfWork, at: datetime) -> tuple[int, int, int, int]:
    now = await dashboard.shop_now(units, day=datetime.now(UTC).date(), time_zone="UTC", at=at)
    return now.outstanding, now.owing_customers, now.overdue, now.overdue_customers


def _expected(history: History, at: datetime) -> tuple[int, int, int, int]:
    statuses = [overdue_status(e, as_of=at, terms_days=t) for t, e in history.values()]
    return (
        sum(max(s.balance, 0) for s in statuses),
        sum(s.balance > 0 for s in statuses),
        sum(s.overdue_amount for s in statuses),
        sum(s.is_overdue for s in statuses),
    )


async def _check(
    owner_db: AsyncEngine, units: UnitsOfWork, history: History, at: list[datetime]
) -> None:
    assert await _owed_problems(owner_db, units.business_id) == []
    for instant in at:
        assert await _figures(units, instant) == _expected(history, instant), instant


async def _owed_problems(owner_db: AsyncEngine, business: int) -> list[verify.Problem]:
    """What verify finds in the summaries (these histories' orders have no items)."""
    problems = await verify.verify_business(owner_db, business)
    return [p for p in problems if p.check in ("owed summaries", "customer count")]


async def _fold(owner_db: AsyncEngine, business: int) -> None:
    async with owner_db.begin() as connection:
        await _bind(connection, business)
        await connection.execute(text("SELECT fold_owed_changes(:b)"), {"b": business})
        left = await connection.scalar(
            text("SELECT count(*) FROM owed_changes WHERE business_id = :b"), {"b": business}
        )
    assert left == 0


def _instants(rng: random.Random, history: History, now: datetime) -> list[datetime]:
    """Later than every entry: where debits fall due and the slots and days around."""
    instants = [now + US, now + 50 * DAY, now + 500 * DAY]
    dues = sorted(
        due_at(entry.created_at, terms)
        for terms, entries in history.values()
        for entry in entries
        if entry.amount > 0 and due_at(entry.created_at, terms) > now
    )
    for due in rng.sample(dues, min(6, len(dues))):
        instants += [due - US, due, due + US]
        slot = due.replace(minute=due.minute - due.minute % 15, second=0, microsecond=0)
        day = due.replace(hour=0, minute=0, second=0, microsecond=0)
        instants += [t for t in (slot, slot + SLOT - US, day + DAY, day + DAY - US) if t > now]
    return instants


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_owed_and_overdue_match_fifo_from_scratch(
    seed: int, owner_db: AsyncEngine, app_db: AsyncEngine, app_pool: DriverPool
) -> None:
    rng = random.Random(seed)
    business = await admin.create_business(owner_db, name=f"Owed {seed}", terms_days=BUSINESS_TERMS)
    now = datetime.now(UTC)
    own: dict[int, int | None] = {}
    entries: dict[int, list[Entry]] = {}
    for n in range(40):
        terms = rng.choice(TERMS)
        customer = await add_customer(owner_db, business, name=f"C{n}", terms_days=terms)
        own[customer] = terms
        entries[customer] = await post(
            owner_db, business, customer, random_history(rng, now - 60 * DAY, now)
        )
    units = UnitsOfWork(app_db, app_pool, business)
    after = max([now, *(e.created_at for history in entries.values() for e in history)])

    def history(default: int) -> History:
        return {c: (default if own[c] is None else own[c], entries[c]) for c in entries}

    await _check(owner_db, units, history(BUSINESS_TERMS), _instants(rng, history(30), after))
    await _fold(owner_db, business)
    await _check(owner_db, units, history(BUSINESS_TERMS), _instants(rng, history(30), after))

    # A customer's terms that change move what they owe; the business's default
    # moves everyone on it with nothing written.
    async with owner_db.begin() as connection:
        await _bind(connection, business)
        for customer, terms in zip(rng.sample(sorted(own), 5), [None, 0, 7, 45, 90], strict=True):
            await connection.execute(
                text("UPDATE customers SET payment_terms_days = :t WHERE id = :c"),
                {"t": terms, "c": customer},
            )
            own[customer] = terms
        await connection.execute(
            text("UPDATE businesses SET payment_terms_days = 20 WHERE id = :b"), {"b": business}
        )
    await _check(owner_db, units, history(20), _instants(rng, history(20), after))


async def test_one_statement_reversing_two_payments_counts_the_customer_once(
    owner_db: AsyncEngine, app_db: AsyncEngine, app_pool: DriverPool
) -> None:
    business = await admin.create_business(owner_db, name="Two reversals", terms_days=30)
    customer = await add_customer(owner_db, business, name="Ravi")
    start = datetime.now(UTC) - 50 * DAY
    entries = await post(
        owner_db, business, customer,
        [charge(10_000, start), charge(5_000, start + DAY),
         Posting("payment", -6_000, start + 2 * DAY), Posting("payment", -3_000, start + 3 * DAY)],
    )  # fmt: skip
    async with owner_db.begin() as connection:
        await _bind(connection, business)
        rows = await connection.execute(
            text(
                "INSERT INTO credit_ledger (business_id, customer_id, kind, amount,"
                " reverses_entry_id)"
                " SELECT business_id, customer_id, 'reversal', -amount, id FROM credit_ledger"
                " WHERE business_id = :b AND customer_id = :c AND kind = 'payment' ORDER BY id"
                " RETURNING id, amount, created_at, reverses_entry_id"
            ),
            {"b": business, "c": customer},
        )
        entries += [
            Entry(r.amount, r.created_at, id=r.id, corrects=r.reverses_entry_id) for r in rows
        ]
    assert len(entries) == 6
    history = {customer: (30, entries)}
    units = UnitsOfWork(app_db, app_pool, business)
    now = datetime.now(UTC)
    await _check(owner_db, units, history, [now + US, now + 40 * DAY])
    assert await _figures(units, now + US) == (15_000, 1, 15_000, 1)


async def test_customers_on_the_books_are_counted(
    owner_db: AsyncEngine, app_db: AsyncEngine, app_pool: DriverPool
) -> None:
    business = await admin.create_business(owner_db, name="Counted", terms_days=30)
    customers = [await add_customer(owner_db, business, name=f"C{n}") for n in range(3)]
    units = UnitsOfWork(app_db, app_pool, business)
    today = datetime.now(UTC).date()
    assert (await dashboard.shop_now(units, day=today, time_zone="UTC")).customers == 3
    async with owner_db.begin() as connection:
        await _bind(connection, business)
        await connection.execute(
            text("UPDATE customers SET archived_at = now() WHERE id = ANY(:ids)"),
            {"ids": customers[:2]},
        )
        await connection.execute(
            text("UPDATE customers SET archived_at = NULL WHERE id = :id"), {"id": customers[0]}
        )
    now = await dashboard.shop_now(units, day=today, time_zone="UTC")
    assert (now.customers, now.new_this_week) == (2, 2)
    assert await _owed_problems(owner_db, business) == []


async def test_a_fold_does_not_read_the_changes_folded_before(owner_db: AsyncEngine) -> None:
    """A fold deletes by an index scan, which marks the entries of the rows it deleted
    dead, so the next folds skip them; a bitmap scan read every one of them again on
    each fold until VACUUM (0023)."""
    business = await admin.create_business(owner_db, name="Folds", terms_days=30)
    customer = await add_customer(owner_db, business, name="Ravi")
    start = datetime.now(UTC) - 50 * DAY
    await post(owner_db, business, customer, [charge(100, start + n * DAY) for n in range(30)])
    changes_read = text(
        "SELECT idx_tup_read FROM pg_stat_user_indexes"
        " WHERE indexrelname = 'owed_changes_business_idx'"
    )
    entries_read = []
    async with owner_db.connect() as connection:
        for fold in range(4):
            await _bind(connection, business)
            await connection.execute(text("SELECT fold_owed_changes(:b)"), {"b": business})
            await connection.commit()
            # This session's counters reach the shared statistics as it goes idle after this.
            await connection.execute(text("SELECT pg_stat_force_next_flush()"))
            await connection.commit()
            if fold:
                async with owner_db.connect() as reader:
                    entries_read.append(await reader.scalar(changes_read))
    per_fold = [after - before for before, after in itertools.pairwise(entries_read)]
    # The second fold marked the 30 entries the first one deleted; a bitmap scan read
    # them on every fold.
    assert per_fold == [0, 0]
