"""Overdue after corrections (issue 16, point 6), through GraphQL.

A voided order's charge no longer counts, a return reduces its own order's charge
(not the oldest), a reversed payment counts as never made (its charges are unpaid
again, with their original due instants), write-offs settle the oldest charges
first, and a correction counts as a new charge (positive) or a payment (negative).
Each customer has an old charge written 40 days ago (as the owner, straight into
the ledger: 10 days past due on the business's 30-day terms) and a purchase made
now; the corrections go through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.corrections import adjust_balance, return_items, reverse_payment, void_order
from tests.e2e.test_overdue_api import AGING, OVERDUE_LIST, iso, overdue, parse
from tests.helpers import make_customer, make_product
from tests.ledger_data import charge, post
from tests.purchases import buy, pay

pytestmark = pytest.mark.both_routes

DAY = timedelta(days=1)


async def old_charge_and_a_purchase(
    tenant: Tenant, owner_db: AsyncEngine, *, quantity: int = 3
) -> tuple[str, datetime, dict[str, Any]]:
    """A customer owing 100.00 charged 40 days ago and ``quantity`` x 12.50 bought now."""
    customer = await make_customer(tenant, name="Meena")
    made = datetime.now(UTC) - 40 * DAY
    (entry,) = await post(owner_db, tenant.id, int(customer), [charge(100_00, made)])
    rice = await make_product(tenant, price="12.50")
    bought = await buy(tenant, customer, [(rice, quantity)])
    assert bought["__typename"] == "PurchaseCompleted", bought
    return customer, entry.created_at, bought["order"]


async def listed(tenant: Tenant, as_of: datetime | None = None) -> list[dict[str, Any]]:
    variables = {"asOf": None if as_of is None else iso(as_of), "min": 0, "first": 10}
    data = await tenant.data(OVERDUE_LIST, variables, role=Role.VIEWER)
    return [edge["node"] for edge in data["overdueCustomers"]["edges"]]


async def aging(tenant: Tenant, as_of: datetime | None = None) -> dict[str, str]:
    variables = {"asOf": None if as_of is None else iso(as_of)}
    report = (await tenant.data(AGING, variables, role=Role.VIEWER))["agingReport"]
    return {bucket["label"]: bucket["amount"] for bucket in report["buckets"]}


async def test_a_voided_order_no_longer_counts_so_the_old_charge_stays_overdue(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, made, order = await old_charge_and_a_purchase(tenant, owner_db, quantity=10)
    assert (await void_order(tenant, order["id"]))["__typename"] == "OrderVoided"

    # Read as a credit, the void's 125.00 would have settled the old 100.00 charge.
    now = await overdue(tenant, customer, None)
    assert (now["balance"], now["isOverdue"], now["overdueAmount"]) == ("100.00", True, "100.00")
    assert (parse(now["oldestUnpaidAt"]), now["daysOverdue"]) == (made, 10)
    (row,) = await listed(tenant)
    assert (row["customer"]["id"], row["overdueAmount"], row["daysOverdue"]) == (
        customer, "100.00", 10,
    )  # fmt: skip
    assert (await aging(tenant))["1-30"] == "100.00"


async def test_a_return_reduces_its_own_orders_charge_not_the_oldest(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, made, order = await old_charge_and_a_purchase(tenant, owner_db, quantity=3)
    rice = order["items"][0]["product"]["id"]
    between = datetime.now(UTC)
    returned = await return_items(tenant, order["id"], [(rice, 2)])
    assert returned["__typename"] == "ItemsReturned", returned
    assert returned["customer"]["balance"] == "112.50"

    now = await overdue(tenant, customer, None)
    assert (now["isOverdue"], now["overdueAmount"], now["daysOverdue"]) == (True, "100.00", 10)
    assert parse(now["oldestUnpaidAt"]) == made
    assert (await listed(tenant))[0]["overdueAmount"] == "100.00"
    buckets = await aging(tenant)
    assert (buckets["current"], buckets["1-30"]) == ("12.50", "100.00")
    # Before the return, the ledger reads as it did then.
    assert (await aging(tenant, between))["current"] == "37.50"


async def test_a_reversed_payment_leaves_what_it_paid_unpaid_since_its_original_due_date(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, made, order = await old_charge_and_a_purchase(tenant, owner_db)
    paid = await pay(tenant, customer, "100.00")
    assert paid["__typename"] == "PaymentRecorded", paid
    before = await overdue(tenant, customer, None)
    assert before["isOverdue"] is False
    assert parse(before["oldestUnpaidAt"]) >= parse(order["createdAt"])
    assert await listed(tenant) == []
    between = datetime.now(UTC)

    reversed_ = await reverse_payment(tenant, paid["payment"]["id"])
    assert reversed_["__typename"] == "PaymentReversed", reversed_

    # Read as a new debit, the bounced 100.00 would only fall due in 30 days.
    now = await overdue(tenant, customer, None)
    assert (now["balance"], now["isOverdue"], now["overdueAmount"]) == ("137.50", True, "100.00")
    assert (parse(now["oldestUnpaidAt"]), now["daysOverdue"]) == (made, 10)
    (row,) = await listed(tenant)
    assert (row["customer"]["id"], row["daysOverdue"]) == (customer, 10)
    buckets = await aging(tenant)
    assert (buckets["current"], buckets["1-30"]) == ("37.50", "100.00")
    # While the payment stood, the old charge was paid.
    assert (await overdue(tenant, customer, between))["isOverdue"] is False
    assert await listed(tenant, between) == []


@pytest.mark.parametrize(("amount", "kind"), [("100.00", "WRITE_OFF"), ("-100.00", "CORRECTION")])
async def test_a_write_off_or_a_negative_correction_settles_the_oldest_charge_like_a_payment(
    tenant: Tenant, owner_db: AsyncEngine, amount: str, kind: str
) -> None:
    customer, _, order = await old_charge_and_a_purchase(tenant, owner_db)
    adjusted = await adjust_balance(tenant, customer, amount, kind=kind)
    assert adjusted["__typename"] == "BalanceAdjusted", adjusted

    now = await overdue(tenant, customer, None)
    assert (now["balance"], now["isOverdue"]) == ("37.50", False)
    assert parse(now["oldestUnpaidAt"]) >= parse(order["createdAt"])
    assert await listed(tenant) == []
    assert (await aging(tenant))["1-30"] == "0.00"


async def test_a_positive_correction_is_a_new_charge_falling_due_from_when_it_was_made(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, _, _ = await old_charge_and_a_purchase(tenant, owner_db)
    assert (await pay(tenant, customer, "137.50"))["__typename"] == "PaymentRecorded"
    raised = await adjust_balance(tenant, customer, "20.00", kind="CORRECTION")
    assert raised["__typename"] == "BalanceAdjusted", raised

    now = await overdue(tenant, customer, None)
    assert (now["balance"], now["isOverdue"]) == ("20.00", False)
    made = parse(now["oldestUnpaidAt"])
    assert made >= parse(raised["adjustment"]["createdAt"])
    assert await listed(tenant) == []
    late = await overdue(tenant, customer, made + 31 * DAY)
    assert (late["isOverdue"], late["overdueAmount"], late["daysOverdue"]) == (True, "20.00", 1)
