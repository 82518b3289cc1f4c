"""A sale to a customer who already owes updates the customer in place (0024)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.services import admin
from tests.ledger_data import Posting, add_customer, charge, payment, post_on

UPDATES = text(
    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'customers'"
)


async def _post_counted(
    owner_db: AsyncEngine, connection: AsyncConnection, business: int, customer: int,
    postings: list[Posting],
) -> tuple[int, int]:  # fmt: skip
    """Post in ``connection`` and commit; the customers table's updates and HOT updates
    that it added to the shared statistics."""
    async with owner_db.connect() as reader:
        before = (await reader.execute(UPDATES)).one()
    await post_on(connection, business, customer, postings)
    await connection.commit()
    # The session's counters reach the shared statistics as it goes idle after this.
    await connection.execute(text("SELECT pg_stat_force_next_flush()"))
    await connection.commit()
    async with owner_db.connect() as reader:
        after = (await reader.execute(UPDATES)).one()
    return after.n_tup_upd - before.n_tup_upd, after.n_tup_hot_upd - before.n_tup_hot_upd


async def test_a_debit_or_a_payment_that_keeps_the_oldest_charge_writes_no_index_entry(
    owner_db: AsyncEngine,
) -> None:
    business = await admin.create_business(owner_db, name="Hot balances", terms_days=30)
    customer = await add_customer(owner_db, business, name="Ravi")
    start = datetime.now(UTC) - timedelta(days=3)
    async with owner_db.connect() as connection:
        # The first debit sets the oldest unpaid charge, an indexed column.
        first = [charge(10_000, start)]
        assert await _post_counted(owner_db, connection, business, customer, first) == (1, 0)
        # These leave it where it is: the balance changes, no indexed column does.
        more = [charge(500, start + timedelta(hours=1)), payment(700, start + timedelta(hours=2))]
        assert await _post_counted(owner_db, connection, business, customer, more) == (2, 2)
