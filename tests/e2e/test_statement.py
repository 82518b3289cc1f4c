"""A customer's statement (issue 19, point 3): opening, entries with running balances,
closing; periods chain, and a period ending today closes at the balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.domain.reports import today
from tests.conftest import Tenant
from tests.corrections import adjust_balance, return_items, reverse_payment, sell, void_order
from tests.helpers import error_codes, make_customer, make_product
from tests.ledger_data import charge, payment, post
from tests.purchases import pay

STATEMENT = """
query($id: ID!, $from: Date!, $to: Date!) {
  customer(id: $id) {
    balance
    statement(from: $from, to: $to) {
      from to openingBalance closingBalance
      entries { at kind amount balance billNumber method reference }
      totals { debits credits entriesCount }
    }
  }
}
"""


async def _statement(tenant: Tenant, customer: str, start: str, end: str) -> dict[str, Any]:
    data = await tenant.data(STATEMENT, {"id": customer, "from": start, "to": end})
    return data["customer"]  # type: ignore[no-any-return]


async def test_a_statement_lists_every_kind_of_entry_with_running_balances(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, name="Asha")
    rice = await make_product(tenant, price="10.00")
    now = datetime.now(UTC)
    await post(owner_db, tenant.id, int(customer), [
        charge(5000, now - timedelta(days=60)), payment(2000, now - timedelta(days=50)),
    ])  # fmt: skip
    first = await sell(tenant, customer, [(rice, 3)], paid=[("5.00", "UPI")])
    second = await sell(tenant, customer, [(rice, 2)])
    cheque = await pay(tenant, customer, "10.00", method="CHEQUE", reference="CHQ-7")
    assert (await reverse_payment(tenant, cheque["payment"]["id"]))["__typename"] == (
        "PaymentReversed"
    )
    assert (await void_order(tenant, second["order"]["id"]))["__typename"] == "OrderVoided"
    returned = await return_items(tenant, first["order"]["id"], [(rice, 1)], reason="Torn bag")
    assert returned["__typename"] == "ItemsReturned"
    assert (await adjust_balance(tenant, customer, "1.00", reason="Rounding"))["__typename"] == (
        "BalanceAdjusted"
    )

    day = today("UTC")
    found = await _statement(tenant, customer, (day - timedelta(days=7)).isoformat(),
                             day.isoformat())  # fmt: skip
    statement = found["statement"]

    assert statement["openingBalance"] == "30.00"
    kinds = [(e["kind"], e["amount"], e["balance"]) for e in statement["entries"]]
    assert kinds == [
        ("SALE", "30.00", "60.00"), ("PAYMENT", "-5.00", "55.00"),
        ("SALE", "20.00", "75.00"), ("PAYMENT", "-10.00", "65.00"),
        ("PAYMENT_REVERSED", "10.00", "75.00"), ("VOID", "-20.00", "55.00"),
        ("RETURN", "-10.00", "45.00"), ("ADJUSTMENT", "-1.00", "44.00"),
    ]  # fmt: skip
    bills = [e["billNumber"] for e in statement["entries"]]
    assert bills[0] is not None
    assert bills[0] == bills[1] == bills[6]  # the sale, its counter payment, its return
    assert bills[2] is not None
    assert bills[2] == bills[5] != bills[0]  # the sale voided
    assert bills[3] is None  # a payment on account
    assert bills[7] is None
    assert statement["entries"][3]["method"] == "CHEQUE"
    assert statement["entries"][3]["reference"] == "CHQ-7"
    assert statement["entries"][6]["reference"] == "Torn bag"
    assert statement["closingBalance"] == found["balance"] == "44.00"
    assert statement["totals"] == {"debits": "60.00", "credits": "46.00", "entriesCount": 8}
    opening = Decimal(statement["openingBalance"])
    assert opening + sum(Decimal(e["amount"]) for e in statement["entries"]) == Decimal("44.00")


async def test_the_closing_balance_of_one_period_is_the_opening_of_the_next(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await post(owner_db, tenant.id, int(customer), [
        charge(1000, start + timedelta(days=3)), charge(700, start + timedelta(days=20)),
        payment(500, start + timedelta(days=31, hours=23)), charge(250, start + timedelta(days=40)),
    ])  # fmt: skip
    january = (await _statement(tenant, customer, "2026-01-01", "2026-01-31"))["statement"]
    february = (await _statement(tenant, customer, "2026-02-01", "2026-02-28"))["statement"]
    assert (january["openingBalance"], january["closingBalance"]) == ("0.00", "17.00")
    assert (february["openingBalance"], february["closingBalance"]) == ("17.00", "14.50")
    assert [e["amount"] for e in february["entries"]] == ["-5.00", "2.50"]


async def test_a_statement_is_for_the_owner_and_a_bad_period_is_bad_user_input(
    tenant: Tenant,
) -> None:
    customer = await make_customer(tenant)
    variables = {"id": customer, "from": "2026-02-01", "to": "2026-01-01"}
    assert error_codes(await tenant.gql(STATEMENT, variables)) == ["BAD_USER_INPUT"]
    ok = {**variables, "from": "2026-01-01"}
    assert error_codes(await tenant.gql(STATEMENT, ok, role=Role.CASHIER)) == ["FORBIDDEN"]
