"""Bill numbers follow the calendar year in the store's time zone (issue 15, point 3).

The sale's instant is passed to ``purchase()`` (its ``p_sold_at``, NULL but here), so a
year boundary can be crossed on the real function without faking any clock.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.services import bills
from app.services.unit_of_work import UnitsOfWork
from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.purchases import PURCHASE_LEAN, buy, numbered_bills

SETTINGS = "mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { __typename } }"
SALE_AT = text(
    "SELECT purchase(:b, NULL, ARRAY[:p]::bigint[], '{1}', '{0}', 0, '{100}', '{CASH}', '{NULL}',"
    " NULL, NULL, :k, 'h', :at)"
)
NUMBER = text("SELECT number_bills(:b, :o)")
QUEUE_ENTRIES_READ = text(
    "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'bills_to_number_pkey'"
)


async def _numbers(app_db: AsyncEngine, tenant: Tenant, product: str, *instants: str) -> list[str]:
    numbers = []
    async with app_db.connect() as connection:
        for n, at in enumerate(instants):
            answer = (
                await connection.execute(
                    SALE_AT,
                    {"b": tenant.id, "p": int(product), "k": f"at-{n}",
                     "at": datetime.fromisoformat(at)},
                )
            ).scalar_one()  # fmt: skip
            await connection.commit()
            number = await connection.scalar(NUMBER, {"b": tenant.id, "o": answer["order"]["id"]})
            await connection.commit()
            numbers.append(number)
    return numbers


async def test_a_store_in_kolkata_starts_2026_at_1830_utc_on_new_years_eve(
    tenant: Tenant, app_db: AsyncEngine
) -> None:
    await tenant.data(SETTINGS, {"input": {"timeZone": "Asia/Kolkata"}})
    product = await make_product(tenant, price="1.00")
    numbers = await _numbers(
        app_db, tenant, product,
        "2025-12-31T18:00:00+00:00",  # 23:30 on 31 December in Kolkata
        "2025-12-31T18:29:59.999999+00:00",
        "2025-12-31T18:30:00+00:00",  # midnight in Kolkata
        "2025-12-31T19:00:00+00:00",
    )  # fmt: skip
    assert numbers == ["BILL-2025-000001", "BILL-2025-000002", "BILL-2026-000001",
                       "BILL-2026-000002"]  # fmt: skip


async def test_the_same_instants_in_a_utc_store_are_still_2025(
    tenant: Tenant, app_db: AsyncEngine
) -> None:
    product = await make_product(tenant, price="1.00")
    numbers = await _numbers(
        app_db, tenant, product, "2025-12-31T19:00:00+00:00", "2025-12-31T23:59:59+00:00",
        "2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    assert numbers == ["BILL-2025-000001", "BILL-2025-000002", "BILL-2026-000001"]


ORDER = "query($id: ID!) { order(id: $id) { number } }"


async def _unnumbered_sale(app_db: AsyncEngine, tenant: Tenant, product: str, key: str) -> int:
    """A sale committed as if its request died before taking its number."""
    async with app_db.connect() as connection:
        answer = (
            await connection.execute(
                SALE_AT, {"b": tenant.id, "p": int(product), "k": key, "at": None}
            )
        ).scalar_one()
        await connection.commit()
    assert "number" not in answer["order"]
    return int(answer["order"]["id"])


async def test_an_order_read_before_its_number_is_taken_is_numbered_by_the_read(
    tenant: Tenant, app_db: AsyncEngine
) -> None:
    product = await make_product(tenant, price="1.00")
    order_id = await _unnumbered_sale(app_db, tenant, product, "died")
    first = await tenant.data(ORDER, {"id": str(order_id)})
    again = await tenant.data(ORDER, {"id": str(order_id)})
    assert first["order"]["number"].endswith("-000001")
    assert again == first


async def test_the_next_sale_numbers_the_waiting_ones_first_and_the_series_has_no_gap(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, price="1.00")
    waiting = [await _unnumbered_sale(app_db, tenant, product, f"died-{n}") for n in range(2)]
    # A numbering that rolls back numbers nothing.
    async with app_db.connect() as connection:
        await connection.scalar(NUMBER, {"b": tenant.id, "o": waiting[0]})
        await connection.rollback()
    sale = await buy(tenant, await make_customer(tenant), [(product, 1)])
    year = sale["order"]["number"].split("-")[1]
    assert sale["order"]["number"] == f"BILL-{year}-000003"
    numbers = [(await tenant.data(ORDER, {"id": str(o)}))["order"]["number"] for o in waiting]
    assert numbers == [f"BILL-{year}-000001", f"BILL-{year}-000002"]
    assert await verify_business(owner_db, tenant.id) == []


async def test_sales_whose_clients_do_not_ask_for_the_number_are_numbered_just_after(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, price="1.00", stock=100)
    customer = await make_customer(tenant)
    waiting = await _unnumbered_sale(app_db, tenant, product, "died")
    sales = await asyncio.gather(
        *(buy(tenant, customer, [(product, 1)], query=PURCHASE_LEAN) for _ in range(8))
    )
    assert all(sale["__typename"] == "PurchaseCompleted" for sale in sales)
    assert all("number" not in sale["order"] for sale in sales)
    # Numbered after the answers, in batches: wait for the worker to get there.
    numbers = await numbered_bills(owner_db, tenant.id, 9)
    year = numbers[0].split("-")[1]
    assert numbers == [f"BILL-{year}-{n:06d}" for n in range(1, 10)], "oldest order first"
    first = await tenant.data(ORDER, {"id": str(waiting)})
    assert first["order"]["number"] == f"BILL-{year}-000001"
    assert await verify_business(owner_db, tenant.id) == []


async def test_a_worker_numbers_the_sales_of_one_pause_in_one_call(
    *, tenant: Tenant, other_tenant: Tenant, app_db: AsyncEngine, app_pool: DriverPool,
    owner_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Sales asked for while ``Numbering`` waits share one call per business; a sale
    asked for once that round is over takes a call of the next."""
    calls: list[int] = []
    number_waiting = bills.number_waiting

    async def counted(units: UnitsOfWork) -> None:
        calls.append(units.business_id)
        await number_waiting(units)

    monkeypatch.setattr(bills, "number_waiting", counted)
    numbering = bills.Numbering(app_db, app_pool, pause=0.2)
    product = await make_product(tenant, price="1.00", stock=100)
    other_product = await make_product(other_tenant, price="1.00", stock=100)
    for n in range(3):
        await _unnumbered_sale(app_db, tenant, product, f"paced-{n}")
        numbering.after_sale(tenant.id)
    await _unnumbered_sale(app_db, other_tenant, other_product, "paced-other")
    numbering.after_sale(other_tenant.id)
    await numbering.close()
    assert sorted(calls) == sorted([tenant.id, other_tenant.id])
    assert len(await numbered_bills(owner_db, tenant.id, 3)) == 3
    assert len(await numbered_bills(owner_db, other_tenant.id, 1)) == 1

    await _unnumbered_sale(app_db, tenant, product, "paced-later")
    numbering.after_sale(tenant.id)
    await numbering.close()
    assert calls[2:] == [tenant.id]
    assert len(await numbered_bills(owner_db, tenant.id, 4)) == 4


async def test_a_numbering_does_not_read_the_queue_entries_of_bills_numbered_before(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine
) -> None:
    """The queue is emptied by an index scan, which marks the entries of the rows it
    deleted dead, so later numberings skip them; a bitmap scan read every one of them
    again on each call until VACUUM (0023)."""
    product = await make_product(tenant, price="1.00", stock=100)
    entries_read = []
    async with app_db.connect() as connection:

        async def run(statement: TextClause, params: dict[str, Any]) -> None:
            await connection.execute(statement, params)
            await connection.commit()

        # 30 sales, each numbered (so taken off the queue) just after it.
        for n in range(30):
            at = datetime.fromisoformat("2026-03-01T10:00:00+00:00")
            await run(SALE_AT, {"b": tenant.id, "p": int(product), "k": f"q-{n}", "at": at})
            await run(NUMBER, {"b": tenant.id, "o": None})
        for call in range(4):
            # This session's counters reach the shared statistics as it goes idle after this.
            await run(text("SELECT pg_stat_force_next_flush()"), {})
            async with owner_db.connect() as reader:
                entries_read.append(await reader.scalar(QUEUE_ENTRIES_READ))
            if call < 3:
                await run(NUMBER, {"b": tenant.id, "o": None})
    per_call = [after - before for before, after in itertools.pairwise(entries_read)]
    # The first call meets the entry of the last sale, deleted by the call before; a
    # bitmap scan read the entries of all 30 sales on each call.
    assert per_call[0] <= 1
    assert per_call[1:] == [0, 0]
