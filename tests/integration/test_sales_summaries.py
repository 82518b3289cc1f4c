"""The sales summaries equal the rows they sum, in every store's days (issue 19).

Sales are made at chosen instants through ``purchase()``'s ``p_sold_at``; payments,
voids, returns and reversals through the API (at the clock's time).  Each figure the
API answers is compared with a sum over the raw rows, and with the ledger.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.reports import today
from tests.conftest import Tenant
from tests.corrections import return_items, reverse_payment, void_order
from tests.helpers import make_customer, make_product
from tests.purchases import pay
from tests.reports import (
    COLLECTIONS,
    DASHBOARD,
    SALES_SUMMARY,
    SETTINGS,
    TAX_SUMMARY,
    TOP_CUSTOMERS,
    TOP_PRODUCTS,
    sale_at,
)

KOLKATA = "Asia/Kolkata"
METHODS = ("CASH", "UPI", "CARD", "BANK_TRANSFER", "CHEQUE", "OTHER")


def test_every_zone_offset_is_a_whole_number_of_quarter_hours() -> None:
    """So a store's midnight is always a boundary of the summaries' 15-minute slots."""
    for name in available_timezones():
        zone = ZoneInfo(name)
        at = datetime(1990, 1, 1, tzinfo=UTC)
        while at.year < 2040:
            offset = at.astimezone(zone).utcoffset()
            assert offset is not None
            assert offset.total_seconds() % 900 == 0, (name, at)
            at += timedelta(days=61)


async def test_a_day_in_kolkata_runs_from_1830_utc_to_1830_utc(
    tenant: Tenant, app_db: AsyncEngine
) -> None:
    await tenant.data(SETTINGS, {"input": {"timeZone": KOLKATA}})
    product = int(await make_product(tenant, price="1.00", stock=1000))
    customer = int(await make_customer(tenant))
    instants = [
        ("2026-03-09T18:29:59.999999+00:00", 1),  # 23:59:59 on the 9th in Kolkata
        ("2026-03-09T18:30:00+00:00", 2),  # midnight: the 10th
        ("2026-03-10T18:29:00+00:00", 4),  # 23:59 on the 10th
        ("2026-03-10T18:30:00+00:00", 8),  # the 11th
    ]
    for n, (at, quantity) in enumerate(instants):
        await sale_at(app_db, tenant, datetime.fromisoformat(at), [(product, quantity)],
                      customer=customer, paid=[(100, "UPI")], key=f"k{n}")  # fmt: skip

    days = await tenant.data(SALES_SUMMARY, {"from": "2026-03-09", "to": "2026-03-11",
                                             "groupBy": "DAY"})  # fmt: skip
    assert [(b["start"], b["billsCount"], b["total"], b["paid"], b["credit"])
            for b in days["salesSummary"]] == [
        ("2026-03-09", 1, "1.00", "1.00", "0.00"),
        ("2026-03-10", 2, "6.00", "2.00", "4.00"),
        ("2026-03-11", 1, "8.00", "1.00", "7.00"),
    ]  # fmt: skip
    board = (await tenant.data(DASHBOARD, {"date": "2026-03-10"}))["dashboard"]
    assert board["sales"] == {"totalAmount": "6.00", "billsCount": 2, "paidInFull": 0,
                              "partlyPaid": 2, "onCredit": 0}  # fmt: skip
    assert board["collections"]["total"] == "2.00"
    assert {"method": "UPI", "amount": "2.00"} in board["collections"]["byMethod"]

    # The same instants in a UTC store: the 9th has three sales and the 10th one.
    await tenant.data(SETTINGS, {"input": {"timeZone": "UTC"}})
    days = await tenant.data(SALES_SUMMARY, {"from": "2026-03-09", "to": "2026-03-11",
                                             "groupBy": "DAY"})  # fmt: skip
    assert [b["billsCount"] for b in days["salesSummary"]] == [2, 2, 0]


async def test_weeks_and_months_group_the_stores_days(tenant: Tenant, app_db: AsyncEngine) -> None:
    await tenant.data(SETTINGS, {"input": {"timeZone": "America/Los_Angeles"}})
    product = int(await make_product(tenant, price="1.00", stock=1000))
    # 23:30 on Sunday 1 March in Los Angeles is Monday 2 March in UTC.
    await sale_at(app_db, tenant, datetime.fromisoformat("2026-03-02T07:30:00+00:00"),
                  [(product, 3)], paid=[(300, "CASH")], key="a")  # fmt: skip
    await sale_at(app_db, tenant, datetime.fromisoformat("2026-03-02T08:30:00+00:00"),
                  [(product, 5)], paid=[(500, "CASH")], key="b")  # fmt: skip
    weeks = await tenant.data(SALES_SUMMARY, {"from": "2026-02-25", "to": "2026-03-08",
                                              "groupBy": "WEEK"})  # fmt: skip
    assert [(b["start"], b["total"]) for b in weeks["salesSummary"]] == [
        ("2026-02-25", "3.00"), ("2026-03-02", "5.00"),
    ]  # fmt: skip
    months = await tenant.data(SALES_SUMMARY, {"from": "2026-02-15", "to": "2026-03-31",
                                               "groupBy": "MONTH"})  # fmt: skip
    assert [(b["start"], b["total"]) for b in months["salesSummary"]] == [
        ("2026-02-15", "0.00"), ("2026-03-01", "8.00"),
    ]  # fmt: skip


def _minor(amount: str) -> int:
    return int(Decimal(amount) * 100)


async def _raw(owner_db: AsyncEngine, business_id: int, sql: str) -> dict[str, int]:
    async with owner_db.connect() as connection:
        row = (await connection.execute(text(sql), {"b": business_id})).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_histories_sum_to_their_rows_and_to_the_ledger(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine, seed: int
) -> None:
    rng = random.Random(seed)
    await tenant.data(SETTINGS, {"input": {"timeZone": rng.choice(
        [KOLKATA, "America/St_Johns", "Pacific/Chatham", "Asia/Kathmandu"])}})  # fmt: skip
    products = [
        int(await make_product(tenant, price=f"{rng.randint(1, 60)}.{rng.randint(0, 99):02}",
                               stock=10_000, taxRate=rng.choice(["0", "5", "12.5"])))
        for _ in range(4)
    ]  # fmt: skip
    customers = [int(await make_customer(tenant, name=f"C{i}")) for i in range(3)]
    start = datetime.now(UTC) - timedelta(days=6)
    orders: list[dict[str, Any]] = []
    for n in range(25):
        at = start + timedelta(minutes=rng.randint(0, 6 * 24 * 60))
        lines = [(p, rng.randint(1, 4)) for p in rng.sample(products, rng.randint(1, 3))]
        customer = rng.choice([None, *customers])
        if customer is not None and rng.random() < 0.4:
            sale = await sale_at(app_db, tenant, at, lines, customer=customer, key=f"s{n}",
                                 bill_discount=rng.choice([0, 7]))  # fmt: skip
        else:
            # A sale on credit first tells the total; it stays in the history as well.
            probe = await sale_at(app_db, tenant, at, lines, customer=customers[0], key=f"p{n}")
            orders.append(probe["order"])
            total = int(probe["order"]["total"])
            split = total if customer is None else rng.randint(0, total)
            parts = [(split // 2, rng.choice(METHODS)), (split - split // 2, rng.choice(METHODS))]
            sale = await sale_at(app_db, tenant, at, lines, customer=customer, key=f"s{n}",
                                 paid=[part for part in parts if part[0] > 0])  # fmt: skip
        orders.append(sale["order"])
    later = []
    for customer in customers:
        paid = await pay(tenant, str(customer), "1.00", method=rng.choice(METHODS))
        assert paid["__typename"] == "PaymentRecorded", paid
        later.append(paid["payment"])
    voided = rng.sample(orders, 4)
    for order in voided:
        assert (await void_order(tenant, str(order["id"])))["__typename"] == "OrderVoided"
    returnable = [o for o in orders if o["customerId"] is not None and o not in voided]
    for order in rng.sample(returnable, 2):
        item = order["items"][0]
        returned = await return_items(tenant, str(order["id"]), [(str(item["productId"]), 1)],
                                      refund_method="CASH")  # fmt: skip
        assert returned["__typename"] == "ItemsReturned", returned
    reversed_ = await reverse_payment(tenant, str(later[-1]["id"]))
    assert reversed_["__typename"] == "PaymentReversed", reversed_

    zone = (await tenant.data("{ settings { timeZone } }"))["settings"]["timeZone"]
    first, last = (start - timedelta(days=1)).astimezone(ZoneInfo(zone)).date(), today(zone)
    period = {"from": first.isoformat(), "to": last.isoformat()}
    days = (await tenant.data(SALES_SUMMARY, {**period, "groupBy": "DAY"}))["salesSummary"]
    months = (await tenant.data(SALES_SUMMARY, {**period, "groupBy": "MONTH"}))["salesSummary"]

    def total(buckets: list[dict[str, str]], field: str) -> int:
        return sum(_minor(b[field]) if isinstance(b[field], str) else int(b[field])
                   for b in buckets)  # fmt: skip

    raw = await _raw(owner_db, tenant.id, """
        SELECT count(*) AS bills, sum(subtotal) AS gross, sum(discount_total) AS discount,
               sum(tax_total) AS tax, sum(total) AS total, sum(paid_amount) AS paid,
               sum(total - paid_amount) AS credit,
               (SELECT sum(o.total) FROM order_voids v JOIN orders o
                  ON o.business_id = v.business_id AND o.id = v.order_id
                 WHERE v.business_id = :b) AS voided,
               (SELECT sum(credit_amount) FROM order_returns WHERE business_id = :b) AS returned
          FROM orders WHERE business_id = :b""")  # fmt: skip
    for buckets in (days, months):
        assert total(buckets, "billsCount") == raw["bills"]
        for field in ("gross", "discount", "tax", "total", "paid", "credit"):
            assert total(buckets, field) == raw[field], field
        assert total(buckets, "returns") == raw["voided"] + raw["returned"]
        assert total(buckets, "net") == raw["total"] - raw["voided"] - raw["returned"]

    # Day by day, each bucket is the orders made in that day of the store.
    async with owner_db.connect() as connection:
        per_day = dict((await connection.execute(text(
            "SELECT (created_at AT TIME ZONE :z)::date, sum(total) FROM orders"
            " WHERE business_id = :b GROUP BY 1"), {"b": tenant.id, "z": zone})).all())  # fmt: skip
    assert {date.fromisoformat(b["start"]): _minor(b["total"]) for b in days
            if b["billsCount"]} == {d: int(t) for d, t in per_day.items()}  # fmt: skip

    # The ledger: what was left on credit is the charges less the counter payments.
    ledger = await _raw(owner_db, tenant.id, """
        SELECT sum(l.amount) FILTER (WHERE l.kind = 'charge') AS charged,
               -sum(l.amount) FILTER (WHERE l.kind = 'payment' AND p.order_id IS NOT NULL)
                   AS paid_at_counter,
               -sum(l.amount) FILTER (WHERE l.kind = 'payment') AS paid,
               -sum(l.amount) FILTER (WHERE l.kind = 'return') AS credited
          FROM credit_ledger l
          LEFT JOIN payments p ON p.business_id = l.business_id AND p.id = l.payment_id
         WHERE l.business_id = :b""")  # fmt: skip
    assert total(days, "credit") == ledger["charged"] - ledger["paid_at_counter"]

    money = (await tenant.data(COLLECTIONS, period))["collectionsSummary"]
    raw_money = await _raw(owner_db, tenant.id, """
        SELECT (SELECT sum(amount) FROM payments WHERE business_id = :b) AS received,
               (SELECT sum(amount) FROM payments WHERE business_id = :b
                  AND customer_id IS NULL) AS walk_in,
               (SELECT sum(amount) FROM refunds WHERE business_id = :b) AS refunded,
               (SELECT sum(p.amount) FROM payment_reversals r JOIN payments p
                  ON p.business_id = r.business_id AND p.id = r.payment_id
                 WHERE r.business_id = :b) AS reversed""")  # fmt: skip
    assert _minor(money["received"]) == raw_money["received"]
    assert _minor(money["received"]) - raw_money["walk_in"] == ledger["paid"]
    assert _minor(money["refunded"]) == raw_money["refunded"]
    assert _minor(money["reversed"]) == raw_money["reversed"]
    assert sum(_minor(m["received"]) for m in money["byMethod"]) == raw_money["received"]

    # Rankings over the whole period add up to the summary's net.
    net = total(days, "net")
    products_sold = (await tenant.data(TOP_PRODUCTS, {**period, "by": "REVENUE"}))["topProducts"]
    assert sum(_minor(p["revenue"]) for p in products_sold) == net
    by_customer = (await tenant.data(TOP_CUSTOMERS, period))["topCustomers"]
    walk_ins = await _raw(owner_db, tenant.id, """
        SELECT (SELECT sum(total) FROM orders WHERE business_id = :b AND customer_id IS NULL)
             - coalesce((SELECT sum(o.total) FROM order_voids v JOIN orders o
                  ON o.business_id = v.business_id AND o.id = v.order_id
                 WHERE v.business_id = :b AND o.customer_id IS NULL), 0) AS net""")  # fmt: skip
    assert sum(_minor(c["total"]) for c in by_customer) + walk_ins["net"] == net
    taxes = (await tenant.data(TAX_SUMMARY, period))["taxSummary"]
    assert sum(_minor(t["taxAmount"]) for t in taxes) == raw["tax"] - await _voided_tax(
        owner_db, tenant.id
    )


async def _voided_tax(owner_db: AsyncEngine, business_id: int) -> int:
    return (await _raw(owner_db, business_id, """
        SELECT sum(o.tax_total) AS tax FROM order_voids v JOIN orders o
          ON o.business_id = v.business_id AND o.id = v.order_id WHERE v.business_id = :b"""
    ))["tax"]  # fmt: skip
