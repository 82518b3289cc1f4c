"""The owner's dashboard and the analytics' bad input (issue 19, points 1, 2 and bad input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import error_codes, make_customer, make_product
from tests.ledger_data import charge, post
from tests.purchases import pay
from tests.reports import DASHBOARD, SALES_SUMMARY, SETTINGS, TOP_PRODUCTS, sale_at


async def test_the_dashboard_shows_the_day_what_is_owed_and_overdue_and_what_runs_low(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine
) -> None:
    await tenant.data(SETTINGS, {"input": {"timeZone": "Asia/Kolkata", "lowStockDefault": 5}})
    rice = int(await make_product(tenant, price="10.00", stock=100, name="Rice"))
    salt = int(await make_product(tenant, price="2.00", stock=6, name="Salt"))
    asha, ravi = int(await make_customer(tenant, name="Asha")), int(await make_customer(tenant))
    now = datetime.now(UTC)
    # Forty days ago on credit (30-day terms): overdue now.  Today: paid in part.
    await post(owner_db, tenant.id, asha, [charge(3000, now - timedelta(days=40))])
    await sale_at(app_db, tenant, now, [(salt, 2)], customer=ravi, paid=[(100, "UPI")], key="b")
    await sale_at(app_db, tenant, now, [(rice, 1)], paid=[(1000, "CASH")], key="c")
    assert (await pay(tenant, str(asha), "5.00", method="CHEQUE"))["__typename"] == (
        "PaymentRecorded"
    )

    board = (await tenant.data(DASHBOARD, role=Role.VIEWER))["dashboard"]

    assert board["sales"] == {"totalAmount": "14.00", "billsCount": 2, "paidInFull": 1,
                              "partlyPaid": 1, "onCredit": 0}  # fmt: skip
    methods = {m["method"]: m["amount"] for m in board["collections"]["byMethod"]}
    assert board["collections"]["total"] == "16.00"
    assert (methods["CASH"], methods["UPI"], methods["CHEQUE"]) == ("10.00", "1.00", "5.00")
    assert board["creditOutstanding"] == {"totalAmount": "28.00", "customersCount": 2}
    assert board["overdue"] == {"totalAmount": "25.00", "customersCount": 1}
    assert board["inventory"] == {"activeProducts": 2, "lowStockCount": 1, "expiringCount": 0}
    assert board["customers"] == {"total": 2, "newThisWeek": 2}
    assert board["alerts"]["lowStock"] == [
        {"productId": str(salt), "name": "Salt", "stock": 4, "threshold": 5}
    ]
    assert board["alerts"]["expiring"] == []


async def test_a_past_day_shows_that_days_sales_and_the_shop_as_it_is_now(
    tenant: Tenant, app_db: AsyncEngine
) -> None:
    rice = int(await make_product(tenant, price="10.00"))
    await sale_at(app_db, tenant, datetime(2026, 1, 5, 12, tzinfo=UTC), [(rice, 2)],
                  paid=[(2000, "CARD")], key="old")  # fmt: skip
    board = (await tenant.data(DASHBOARD, {"date": "2026-01-05"}))["dashboard"]
    assert board["date"] == "2026-01-05"
    assert board["sales"]["totalAmount"] == "20.00"
    assert board["collections"]["total"] == "20.00"
    assert (await tenant.data(DASHBOARD, {"date": "2026-01-06"}))["dashboard"]["sales"][
        "billsCount"
    ] == 0


BAD = [
    ({"from": "2026-02-01", "to": "2026-01-01", "groupBy": "DAY"}, "from"),
    ({"from": "2020-01-01", "to": "2026-01-01", "groupBy": "DAY"}, "to"),
]


@pytest.mark.parametrize(("variables", "argument"), BAD, ids=["from-after-to", "over-5-years"])
async def test_a_period_the_reports_cannot_cover_is_bad_user_input_naming_the_argument(
    tenant: Tenant, variables: dict[str, str], argument: str
) -> None:
    answer = await tenant.gql(SALES_SUMMARY, variables)
    assert error_codes(answer) == ["BAD_USER_INPUT"]
    assert answer["errors"][0]["extensions"]["argument"] == argument
    products = await tenant.gql(TOP_PRODUCTS, {**variables, "by": "REVENUE"} | {"groupBy": None})
    assert error_codes(products) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "variables",
    [
        {"from": "2026-02-30", "to": "2026-03-01", "groupBy": "DAY"},
        {"from": "2026-02-01", "to": "2026-03-01", "groupBy": "FORTNIGHT"},
    ],
    ids=["no-such-date", "unknown-group"],
)
async def test_a_date_that_does_not_exist_or_an_unknown_group_is_bad_user_input(
    tenant: Tenant, variables: dict[str, str]
) -> None:
    answer = await tenant.gql(SALES_SUMMARY, variables)
    assert error_codes(answer) == ["BAD_USER_INPUT"], answer
