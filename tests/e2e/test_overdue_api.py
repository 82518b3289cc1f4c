"""Overdue status, the overdue list and the aging report through GraphQL.

Charges and payments are written now (as the owner, straight into the ledger);
``asOf`` then looks into the future, so no backdating is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.ledger_data import charge, payment, post
from tests.purchases import buy

pytestmark = pytest.mark.both_routes

US = timedelta(microseconds=1)
DAY = timedelta(days=1)

OVERDUE = """
query($id: ID!, $asOf: DateTime) {
  customer(id: $id) {
    balance
    overdue(asOf: $asOf) { asOf balance isOverdue overdueAmount oldestUnpaidAt daysOverdue }
  }
}
"""

OVERDUE_LIST = """
query($asOf: DateTime, $min: Int!, $first: Int!, $after: String) {
  overdueCustomers(asOf: $asOf, minDaysOverdue: $min, first: $first, after: $after) {
    edges { cursor node {
      customer { id name } balance overdueAmount oldestUnpaidAt daysOverdue } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

AGING = """
query($asOf: DateTime) {
  agingReport(asOf: $asOf) {
    asOf total customerCount
    buckets { label fromDays toDays amount customerCount }
  }
}
"""


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


async def overdue(tenant: Tenant, customer: str, as_of: datetime | None) -> dict[str, Any]:
    variables = {"id": customer, "asOf": None if as_of is None else iso(as_of)}
    data = await tenant.data(OVERDUE, variables, role=Role.VIEWER)
    return data["customer"]["overdue"]  # type: ignore[no-any-return]


async def customer_with_charge(
    tenant: Tenant, owner_db: AsyncEngine, amount: int, *, terms: int | None = None
) -> tuple[str, datetime]:
    extra = {} if terms is None else {"paymentTermsDays": terms}
    customer = await make_customer(tenant, name="Ravi", **extra)
    (entry,) = await post(owner_db, tenant.id, int(customer), [charge(amount, datetime.now(UTC))])
    return customer, entry.created_at


async def test_a_charge_becomes_overdue_by_zero_days_just_after_its_due_instant(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, made = await customer_with_charge(tenant, owner_db, 125_050)
    due = made + 30 * DAY

    now = await overdue(tenant, customer, None)
    assert now["isOverdue"] is False
    assert now["balance"] == "1250.50"
    assert now["overdueAmount"] == "0.00"
    assert parse(now["oldestUnpaidAt"]) == made
    assert now["daysOverdue"] == 0

    at_due = await overdue(tenant, customer, due)
    assert (at_due["isOverdue"], at_due["overdueAmount"], at_due["daysOverdue"]) == (
        False, "0.00", 0,
    )  # fmt: skip
    assert parse(at_due["asOf"]) == due

    just_after = await overdue(tenant, customer, due + US)
    assert (just_after["isOverdue"], just_after["overdueAmount"], just_after["daysOverdue"]) == (
        True, "1250.50", 0,
    )  # fmt: skip

    hours_late = await overdue(tenant, customer, due + timedelta(hours=5))
    assert (hours_late["isOverdue"], hours_late["daysOverdue"]) == (True, 0)
    assert (await overdue(tenant, customer, due + DAY - US))["daysOverdue"] == 0
    assert (await overdue(tenant, customer, due + DAY))["daysOverdue"] == 1
    assert (await overdue(tenant, customer, due + DAY + US))["daysOverdue"] == 1
    assert (await overdue(tenant, customer, due + 2 * DAY))["daysOverdue"] == 2
    assert (await overdue(tenant, customer, made + 75 * DAY))["daysOverdue"] == 45


async def test_a_purchase_on_thirty_day_terms_is_five_days_overdue_thirty_five_days_later(
    tenant: Tenant,
) -> None:
    on_default_terms = await make_customer(tenant, name="Default terms")
    on_long_terms = await make_customer(tenant, name="Long terms", paymentTermsDays=45)
    rice = await make_product(tenant, price="12.50")
    for customer in (on_default_terms, on_long_terms):
        assert (await buy(tenant, customer, [(rice, 2)]))["__typename"] == "PurchaseCompleted"
    now = datetime.now(UTC)
    as_of = now + 35 * DAY

    late = await overdue(tenant, on_default_terms, as_of)
    assert parse(late["oldestUnpaidAt"]) <= now
    assert (late["isOverdue"], late["overdueAmount"], late["daysOverdue"]) == (True, "25.00", 5)
    not_yet = await overdue(tenant, on_long_terms, as_of)
    assert (not_yet["isOverdue"], not_yet["overdueAmount"], not_yet["daysOverdue"]) == (
        False, "0.00", 0,
    )  # fmt: skip

    for min_days, listed in ((0, [on_default_terms]), (5, [on_default_terms]), (6, [])):
        data = await tenant.data(OVERDUE_LIST, {"asOf": iso(as_of), "min": min_days, "first": 10})
        edges = data["overdueCustomers"]["edges"]
        assert [e["node"]["customer"]["id"] for e in edges] == listed, min_days
        assert all(e["node"]["daysOverdue"] == 5 for e in edges)

    report = (await tenant.data(AGING, {"asOf": iso(as_of)}))["agingReport"]
    buckets = {b["label"]: (b["amount"], b["customerCount"]) for b in report["buckets"]}
    assert (buckets["current"], buckets["1-30"]) == (("25.00", 1), ("25.00", 1))


async def test_a_customers_own_terms_set_the_due_instant(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer, made = await customer_with_charge(tenant, owner_db, 1_000, terms=7)
    assert (await overdue(tenant, customer, made + 7 * DAY))["isOverdue"] is False
    just_after = await overdue(tenant, customer, made + 7 * DAY + US)
    assert (just_after["isOverdue"], just_after["daysOverdue"]) == (True, 0)
    assert (await overdue(tenant, customer, made + 8 * DAY))["daysOverdue"] == 1
    assert (await overdue(tenant, customer, made + 31 * DAY))["daysOverdue"] == 24

    cash_only, made = await customer_with_charge(tenant, owner_db, 1_000, terms=0)
    assert (await overdue(tenant, cash_only, made))["isOverdue"] is False
    assert (await overdue(tenant, cash_only, made + US))["isOverdue"] is True


async def test_a_partial_payment_settles_the_oldest_charge_first(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    entries = await post(
        owner_db, tenant.id, int(customer),
        [charge(10_000, datetime.now(UTC)), charge(5_000, datetime.now(UTC)),
         payment(12_000, datetime.now(UTC))],
    )  # fmt: skip
    second = entries[1].created_at
    status = await overdue(tenant, customer, second + 30 * DAY + US)
    assert status == {
        "asOf": iso(second + 30 * DAY + US),
        "balance": "30.00",
        "isOverdue": True,
        "overdueAmount": "30.00",
        "oldestUnpaidAt": iso(second),
        "daysOverdue": 0,
    }
    settled = await overdue(tenant, customer, entries[0].created_at + 30 * DAY + US)
    assert settled["oldestUnpaidAt"] == iso(second)


async def test_a_past_as_of_is_answered_from_the_ledger(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    start = datetime.now(UTC) - 100 * DAY
    await post(
        owner_db, tenant.id, int(customer),
        [charge(1_000, start), payment(1_000, start + 50 * DAY)],
    )  # fmt: skip
    assert (await overdue(tenant, customer, None))["balance"] == "0.00"
    before_payment = await overdue(tenant, customer, start + 40 * DAY)
    assert before_payment["overdueAmount"] == "10.00"
    assert before_payment["daysOverdue"] == 10


async def test_the_overdue_list_puts_the_most_overdue_first_and_honours_min_days(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    now = datetime.now(UTC)
    late = await make_customer(tenant, name="Late")  # default terms 30
    later = await make_customer(tenant, name="Later", paymentTermsDays=10)
    current = await make_customer(tenant, name="Current", paymentTermsDays=60)
    paid_up = await make_customer(tenant, name="Paid up")
    made = {}
    for customer in (late, later, current):
        (entry,) = await post(owner_db, tenant.id, int(customer), [charge(500, now)])
        made[customer] = entry.created_at
    await post(owner_db, tenant.id, int(paid_up), [charge(500, now), payment(500, now)])

    as_of = now + 45 * DAY
    data = await tenant.data(OVERDUE_LIST, {"asOf": iso(as_of), "min": 0, "first": 10})
    rows = [edge["node"] for edge in data["overdueCustomers"]["edges"]]
    assert [row["customer"]["id"] for row in rows] == [later, late]
    assert rows[0]["daysOverdue"] == (as_of - made[later] - 10 * DAY) // DAY == 35
    assert rows[0]["overdueAmount"] == rows[0]["balance"] == "5.00"
    assert parse(rows[0]["oldestUnpaidAt"]) == made[later]

    data = await tenant.data(OVERDUE_LIST, {"asOf": iso(as_of), "min": 20, "first": 10})
    assert [e["node"]["customer"]["id"] for e in data["overdueCustomers"]["edges"]] == [later]

    async def listed(as_of: datetime, min_days: int) -> dict[str, int]:
        variables = {"asOf": iso(as_of), "min": min_days, "first": 10}
        edges = (await tenant.data(OVERDUE_LIST, variables))["overdueCustomers"]["edges"]
        return {e["node"]["customer"]["id"]: e["node"]["daysOverdue"] for e in edges}

    due = made[late] + 30 * DAY
    assert late not in await listed(due, 0)
    assert (await listed(due + US, 0))[late] == 0
    assert late not in await listed(due + US, 1)
    assert late not in await listed(due + DAY - US, 1)
    assert (await listed(due + DAY, 1))[late] == 1
    assert late not in await listed(due + DAY, 2)


async def test_aging_buckets_add_up_to_what_is_owed(tenant: Tenant, owner_db: AsyncEngine) -> None:
    start = datetime.now(UTC) - 200 * DAY
    first = await make_customer(tenant, name="First")
    second = await make_customer(tenant, name="Second", paymentTermsDays=0)
    in_credit = await make_customer(tenant, name="In credit")
    await post(
        owner_db, tenant.id, int(first),
        [charge(100, start), charge(2_000, start + 100 * DAY), payment(50, start + 150 * DAY),
         charge(30_000, start + 190 * DAY)],
    )  # fmt: skip
    await post(owner_db, tenant.id, int(second), [charge(400_000, start + 180 * DAY)])
    await post(
        owner_db, tenant.id, int(in_credit),
        [charge(100, start), payment(100, start), charge(100, start), payment(300, start)],
    )  # fmt: skip

    report = (await tenant.data(AGING, role=Role.VIEWER))["agingReport"]
    buckets = {b["label"]: (b["amount"], b["customerCount"]) for b in report["buckets"]}
    assert buckets == {
        "current": ("300.00", 1),  # first's last charge, 10 days old
        "1-30": ("4000.00", 1),  # second's charge, due at once, 20 days ago
        "31-60": ("0.00", 0),
        "61-90": ("20.00", 1),  # first's second charge: 100 days old, 70 past due
        "over 90": ("0.50", 1),  # first's first charge less the payment
    }
    assert report["total"] == "4320.50"
    assert report["customerCount"] == 2
    total = sum(Decimal(b["amount"]) for b in report["buckets"])
    assert total == Decimal(report["total"])
    assert [(b["fromDays"], b["toDays"]) for b in report["buckets"]] == [
        (0, 0), (0, 30), (31, 60), (61, 90), (91, None),
    ]  # fmt: skip

    later = (await tenant.data(AGING, {"asOf": iso(start + 300 * DAY)}))["agingReport"]
    assert later["total"] == report["total"]
    assert [(b["amount"], b["customerCount"]) for b in later["buckets"]] == [
        ("0.00", 0), ("0.00", 0), ("0.00", 0), ("300.00", 1), ("4020.50", 2),
    ]  # fmt: skip


async def test_aging_buckets_count_whole_days_past_due(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    _, made = await customer_with_charge(tenant, owner_db, 700, terms=0)

    async def bucket_of(as_of: datetime) -> str:
        report = (await tenant.data(AGING, {"asOf": iso(as_of)}))["agingReport"]
        (label,) = [b["label"] for b in report["buckets"] if b["amount"] != "0.00"]
        assert report["total"] == "7.00"
        return label  # type: ignore[no-any-return]

    assert await bucket_of(made) == "current"
    assert await bucket_of(made + US) == "1-30"
    assert await bucket_of(made + timedelta(hours=5)) == "1-30"
    assert await bucket_of(made + 31 * DAY - US) == "1-30"
    assert await bucket_of(made + 31 * DAY) == "31-60"
    assert await bucket_of(made + 61 * DAY - US) == "31-60"
    assert await bucket_of(made + 61 * DAY) == "61-90"
    assert await bucket_of(made + 91 * DAY - US) == "61-90"
    assert await bucket_of(made + 91 * DAY) == "over 90"
