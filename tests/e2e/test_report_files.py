"""Report files (issue 19, point 4): every format read back and compared with the
GraphQL figures; refusals are JSON."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.domain.reports import today as store_today
from tests.conftest import Tenant
from tests.corrections import void_order
from tests.helpers import make_customer, make_product
from tests.ledger_data import charge, post
from tests.reports import SALES_SUMMARY, SETTINGS, TAX_SUMMARY, sale_at

PERIOD = {"from": "2026-03-01", "to": "2026-03-10"}


async def _get(tenant: Tenant, path: str, role: Role = Role.OWNER, **params: str) -> httpx.Response:
    return await tenant.http.get(
        path, params=params, headers={"Authorization": f"Bearer {tenant.keys[role]}"}
    )


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
async def shop(tenant: Tenant, app_db: AsyncEngine) -> Tenant:
    await tenant.data(SETTINGS, {"input": {"timeZone": "Asia/Kolkata"}})
    rice = int(await make_product(tenant, price="10.00", name="Basmati Rice", taxRate="5"))
    dal = int(await make_product(tenant, price="3.25", name="Toor Dal"))
    asha = int(await make_customer(tenant, name="Asha Rao"))
    at = datetime(2026, 3, 2, 18, 45, tzinfo=UTC)  # 3 March, 00:15 in Kolkata
    await sale_at(app_db, tenant, at, [(rice, 2), (dal, 4)], customer=asha, key="1")
    await sale_at(app_db, tenant, at + timedelta(days=2), [(dal, 1)], paid=[(325, "UPI")],
                  key="2")  # fmt: skip
    third = await sale_at(app_db, tenant, at + timedelta(days=3), [(rice, 1)],
                          paid=[(1050, "CASH")], key="3")  # fmt: skip
    await void_order(tenant, str(third["order"]["id"]))
    return tenant


async def test_the_sales_report_in_every_format_has_the_graphql_figures(shop: Tenant) -> None:
    buckets = (await shop.data(SALES_SUMMARY, {**PERIOD, "groupBy": "DAY"}))["salesSummary"]
    expected = [[b["start"], str(b["billsCount"]), b["gross"], b["discount"], b["tax"],
                 b["total"], b["returns"], b["net"], b["paid"], b["credit"]]
                for b in buckets]  # fmt: skip

    answer = await _get(shop, "/reports/sales.csv", **PERIOD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    table = _csv(answer.content)
    assert table[0] == ["Day", "Bills", "Gross", "Discount", "Tax", "Total", "Returns", "Net",
                        "Paid", "Credit"]  # fmt: skip
    assert table[1:] == expected
    assert any(row[1] != "0" for row in table[1:])

    answer = await _get(shop, "/reports/sales.xlsx", **PERIOD)
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=5, max_row=4 + len(buckets), values_only=True))
    assert [(r[0].date().isoformat(), r[1], Decimal(str(r[7])).quantize(Decimal("0.01")))
            for r in rows] == [(b["start"], b["billsCount"], Decimal(b["net"]))
                               for b in buckets]  # fmt: skip
    assert sheet.cell(row=5, column=3).number_format == "#,##0.00"

    answer = await _get(shop, "/reports/sales.pdf", **PERIOD)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    text = _pdf_text(answer.content)
    for b in buckets:
        if b["billsCount"]:
            assert f"{b['start']}" in text
            assert b["net"] in text
    assert PdfReader(io.BytesIO(answer.content)).pages[0].images, "the chart"


async def test_the_tax_and_inventory_reports_match_the_api(shop: Tenant) -> None:
    rates = (await shop.data(TAX_SUMMARY, PERIOD))["taxSummary"]
    table = _csv((await _get(shop, "/reports/tax.csv", **PERIOD)).content)
    assert table[1:] == [[r["rate"], r["taxableAmount"], r["taxAmount"], r["returned"]]
                         for r in rates]  # fmt: skip
    pdf = _pdf_text((await _get(shop, "/reports/tax.pdf", **PERIOD)).content)
    assert all(r["taxAmount"] in pdf for r in rates)

    table = _csv((await _get(shop, "/reports/inventory.csv", **PERIOD)).content)
    sold = {row[1]: (row[3], row[6], row[7]) for row in table[1:]}
    # Rice: 3 sold in the period (5% tax on top); the void, made today, is not in it.
    assert sold == {"Basmati Rice": ("98", "3", "31.50"), "Toor Dal": ("95", "5", "16.25")}
    book = openpyxl.load_workbook(
        io.BytesIO((await _get(shop, "/reports/inventory.xlsx", **PERIOD)).content)
    )
    assert book.active is not None
    assert book.active.cell(row=5, column=4).value in (98, 95)


async def test_the_credit_report_lists_the_overdue_with_an_aging_chart(
    shop: Tenant, owner_db: AsyncEngine
) -> None:
    late = int(await make_customer(shop, name="Late Larry"))
    await post(owner_db, shop.id, late, [charge(12_345, datetime.now(UTC) - timedelta(days=75))])
    aging = (await shop.data("{ agingReport { total buckets { label amount } } }"))["agingReport"]
    today = store_today("Asia/Kolkata").isoformat()  # the credit report is as of now

    table = _csv((await _get(shop, "/reports/credit.csv", to=today)).content)
    # The shop's other customers may be overdue too (its sales are dated in the past).
    edges = (await shop.data(
        "{ overdueCustomers { edges { node {"
        " customer { name } balance overdueAmount daysOverdue } } } }"
    ))["overdueCustomers"]["edges"]  # fmt: skip
    overdue = next(e["node"] for e in edges if e["node"]["customer"]["name"] == "Late Larry")
    row = next(r for r in table[1:] if r[0] == "Late Larry")
    assert row[:5] == ["Late Larry", "", overdue["balance"], overdue["overdueAmount"],
                       str(overdue["daysOverdue"])]  # fmt: skip
    assert overdue["balance"] == "123.45"
    pdf = await _get(shop, "/reports/credit.pdf", to=today)
    text = _pdf_text(pdf.content)
    assert "Late Larry" in text
    assert f"Owed: {aging['total']}" in text
    assert f"Aging 31-60: {aging['buckets'][2]['amount']}" in text
    assert PdfReader(io.BytesIO(pdf.content)).pages[0].images, "the aging chart"


STATEMENT = """
query($id: ID!, $from: Date!, $to: Date!) {
  customer(id: $id) { statement(from: $from, to: $to) {
    openingBalance closingBalance entries { kind amount balance billNumber } } }
}
"""


async def test_a_statement_file_has_the_statements_entries(shop: Tenant) -> None:
    customers = await shop.data("{ customers { edges { node { id name balance } } } }")
    asha = next(e["node"] for e in customers["customers"]["edges"]
                if e["node"]["name"] == "Asha Rao")  # fmt: skip
    # The ledger takes its entries' times from the clock: a period up to today has them.
    period = {"from": "2026-03-01", "to": store_today("Asia/Kolkata").isoformat()}
    statement = (await shop.data(STATEMENT, {"id": asha["id"], **period}))["customer"]["statement"]
    assert statement["entries"]

    path = f"/customers/{asha['id']}/statement"
    table = _csv((await _get(shop, f"{path}.csv", **period)).content)
    assert table[0] == ["Date", "Entry", "Bill", "Method", "Reference", "Amount", "Balance"]
    assert table[1][1:] == ["OPENING", "", "", "", "", statement["openingBalance"]]
    assert [row[1:3] + row[5:] for row in table[2:-1]] == [
        [e["kind"], e["billNumber"] or "", e["amount"], e["balance"]] for e in statement["entries"]
    ]
    assert table[-1][-1] == statement["closingBalance"] == asha["balance"]
    text = _pdf_text((await _get(shop, f"{path}.pdf", **period)).content)
    assert "Asha Rao" in text
    assert f"Closing balance: {asha['balance']}" in text


@pytest.mark.parametrize(
    ("path", "params", "argument"),
    [
        ("/reports/sales.docx", PERIOD, "format"),
        ("/reports/profit.csv", PERIOD, "report"),
        ("/reports/sales.csv", {"from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ("/reports/sales.csv", {"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ("/reports/sales.csv", {"from": "2019-01-01", "to": "2026-03-01"}, "to"),
        ("/reports/sales.csv", {**PERIOD, "groupBy": "fortnight"}, "groupBy"),
        ("/reports/tax.pdf", {"to": "2026-03-01"}, "from"),
        ("/customers/1/statement.xlsx", PERIOD, "format"),
    ],
)
async def test_a_bad_file_request_is_400_json_naming_the_argument(
    tenant: Tenant, path: str, params: dict[str, str], argument: str
) -> None:
    answer = await _get(tenant, path, **params)
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


@pytest.mark.parametrize("role", [Role.CASHIER, Role.STAFF, Role.VIEWER])
async def test_report_files_are_for_owners_and_need_a_caller(tenant: Tenant, role: Role) -> None:
    forbidden = await _get(tenant, "/reports/sales.csv", role=role, **PERIOD)
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await tenant.http.get("/reports/sales.csv", params=PERIOD)
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    customer = await make_customer(tenant)
    statement = await _get(tenant, f"/customers/{customer}/statement.pdf", role=role, **PERIOD)
    assert statement.status_code == 403


async def test_another_businesses_customer_has_no_statement_here(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await make_customer(other_tenant)
    answer = await _get(tenant, f"/customers/{theirs}/statement.csv", **PERIOD)
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
