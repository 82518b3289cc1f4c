"""The whole sale at the counter (issue 15, points 2, 3 and its bad input): walk-in and
customer sales, discounts, tax, payments now and on credit, bill numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.purchases import new_key, written

ORDER_FIELDS = """
  id number subtotal discountTotal billDiscount taxTotal pricesIncludeTax total paidAmount
  creditAmount paymentStatus customer { id }
  items { productName quantity unitPrice lineTotal discount billDiscount taxRate taxAmount }
  payments { amount method reference }
"""
SALE = f"""
mutation($input: PurchaseInput!) {{
  purchase(input: $input) {{
    __typename
    ... on PurchaseCompleted {{ order {{ {ORDER_FIELDS} }} customer {{ balance }} }}
    ... on CreditLimitExceeded {{ creditLimit balance orderTotal creditAmount availableCredit }}
    ... on PriceChanged {{ expectedTotal actualTotal }}
    ... on InvalidInput {{ message fields {{ field message }} }}
    ... on IdempotencyKeyReused {{ idempotencyKey }}
  }}
}}
"""
SETTINGS = """
mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { __typename } }
"""
YEAR = datetime.now(UTC).year


async def sell(
    tenant: Tenant, items: list[dict[str, Any]], *, customer: str | None = None,
    key: str | None = None, **more: Any,
) -> dict[str, Any]:  # fmt: skip
    request = {"items": items, "idempotencyKey": key or new_key(), **more}
    if customer is not None:
        request["customerId"] = customer
    data = await tenant.data(SALE, {"input": request}, role=Role.CLERK)
    return data["purchase"]  # type: ignore[no-any-return]


async def _shop(tenant: Tenant, **settings: Any) -> tuple[str, str]:
    """A store taxing 5% by default; rice at 10.00 (the default rate), oil at 5.00 (12%)."""
    await tenant.data(SETTINGS, {"input": {"defaultTaxRate": "5", **settings}})
    rice = await make_product(tenant, name="Rice", price="10.00", stock=50)
    oil = await make_product(tenant, name="Oil", price="5.00", stock=50, taxRate="12")
    return rice, oil


async def test_a_walk_in_sale_paid_by_cash_and_upi(tenant: Tenant, owner_db: AsyncEngine) -> None:
    rice, oil = await _shop(tenant)
    result = await sell(
        tenant,
        [{"productId": rice, "quantity": 3, "discount": "2.00"}, {"productId": oil, "quantity": 1}],
        discount="3.00", expectedTotal="31.82",
        payments=[{"amount": "20.00", "method": "CASH"},
                  {"amount": "11.82", "method": "UPI", "reference": "UPI-981"}],
    )  # fmt: skip
    assert result["__typename"] == "PurchaseCompleted", result
    assert result["customer"] is None
    order = result["order"]
    assert {k: v for k, v in order.items() if k not in ("id", "items", "payments")} == {
        "number": f"BILL-{YEAR}-000001", "subtotal": "35.00", "discountTotal": "5.00",
        "billDiscount": "3.00", "taxTotal": "1.82", "pricesIncludeTax": False,
        "total": "31.82", "paidAmount": "31.82", "creditAmount": "0.00",
        "paymentStatus": "PAID", "customer": None,
    }  # fmt: skip
    assert order["items"] == [
        {"productName": "Rice", "quantity": 3, "unitPrice": "10.00", "lineTotal": "30.00",
         "discount": "2.00", "billDiscount": "2.55", "taxRate": "5.00", "taxAmount": "1.27"},
        {"productName": "Oil", "quantity": 1, "unitPrice": "5.00", "lineTotal": "5.00",
         "discount": "0.00", "billDiscount": "0.45", "taxRate": "12.00", "taxAmount": "0.55"},
    ]  # fmt: skip
    assert order["payments"] == [
        {"amount": "20.00", "method": "CASH", "reference": None},
        {"amount": "11.82", "method": "UPI", "reference": "UPI-981"},
    ]
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["payments"], counts["charges"]) == (1, 2, 0)
    assert counts["payment_entries"] == 0  # no customer, no ledger
    # Read back, by number, through the loaders: the same order.
    data = await tenant.data(
        f"query($n: String!) {{ orderByNumber(number: $n) {{ {ORDER_FIELDS} }} }}",
        {"n": order["number"]},
        role=Role.VIEWER,
    )
    assert data["orderByNumber"] == order
    assert await verify_business(owner_db, tenant.id) == []


async def test_a_customer_pays_part_now_and_the_ledger_shows_charge_and_payment(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    rice, _ = await _shop(tenant)
    customer = await make_customer(tenant, credit_limit="100.00")
    result = await sell(
        tenant, [{"productId": rice, "quantity": 2}], customer=customer,
        payments=[{"amount": "5.00", "method": "CASH"}],
    )  # fmt: skip
    order = result["order"]
    assert (order["total"], order["paidAmount"], order["creditAmount"]) == (
        "21.00",
        "5.00",
        "16.00",
    )
    assert order["paymentStatus"] == "PARTIAL"
    assert result["customer"]["balance"] == "16.00"
    credit = await sell(tenant, [{"productId": rice, "quantity": 1}], customer=customer)
    assert credit["order"]["paymentStatus"] == "CREDIT"
    data = await tenant.data(
        """query($id: ID!) { customer(id: $id) {
             balance totalPurchases totalSpent
             ledger { edges { node { kind amount balanceAfter } } } } }""",
        {"id": customer},
    )
    customer_now = data["customer"]
    assert (customer_now["totalPurchases"], customer_now["totalSpent"]) == (2, "31.50")
    assert [
        (e["node"]["kind"], e["node"]["amount"], e["node"]["balanceAfter"])
        for e in customer_now["ledger"]["edges"]
    ] == [
        ("CHARGE", "10.50", "26.50"), ("PAYMENT", "-5.00", "16.00"), ("CHARGE", "21.00", "21.00"),
    ]  # fmt: skip
    assert await verify_business(owner_db, tenant.id) == []


async def test_the_credit_rule_is_about_the_part_not_paid_now(tenant: Tenant) -> None:
    rice, _ = await _shop(tenant)
    customer = await make_customer(tenant, credit_limit="10.00")
    refused = await sell(
        tenant, [{"productId": rice, "quantity": 5}], customer=customer,
        payments=[{"amount": "40.00", "method": "CARD"}],
    )  # fmt: skip
    assert refused == {
        "__typename": "CreditLimitExceeded", "creditLimit": "10.00", "balance": "0.00",
        "orderTotal": "52.50", "creditAmount": "12.50", "availableCredit": "10.00",
    }  # fmt: skip
    done = await sell(
        tenant, [{"productId": rice, "quantity": 5}], customer=customer,
        payments=[{"amount": "42.50", "method": "CARD"}],
    )  # fmt: skip
    assert (done["__typename"], done["customer"]["balance"]) == ("PurchaseCompleted", "10.00")


async def test_prices_that_include_tax(tenant: Tenant) -> None:
    rice, oil = await _shop(tenant, pricesIncludeTax=True)
    result = await sell(
        tenant, [{"productId": rice, "quantity": 1}, {"productId": oil, "quantity": 2}],
        payments=[{"amount": "20.00", "method": "CASH"}],
    )  # fmt: skip
    order = result["order"]
    assert (order["subtotal"], order["taxTotal"], order["total"]) == ("20.00", "1.55", "20.00")
    assert [item["taxAmount"] for item in order["items"]] == ["0.48", "1.07"]
    assert order["pricesIncludeTax"] is True


async def test_a_replay_answers_the_same_sale_and_other_payments_reuse_the_key(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    rice, _ = await _shop(tenant)
    items = [{"productId": rice, "quantity": 1}]
    cash = [{"amount": "10.50", "method": "CASH"}]
    first = await sell(tenant, items, key="till-1", payments=cash)
    again = await sell(tenant, items, key="till-1", payments=cash)
    assert again == first
    upi = [{"amount": "10.50", "method": "UPI"}]
    assert (await sell(tenant, items, key="till-1", payments=upi))["__typename"] == (
        "IdempotencyKeyReused"
    )
    assert (await written(owner_db, tenant.id))["orders"] == 1


@pytest.mark.parametrize(
    ("sale", "field"),
    [
        ({"items": [{"quantity": 1, "discount": "-1.00"}]}, "items[0].discount"),
        ({"items": [{"quantity": 1, "discount": "10.51"}]}, "items[0].discount"),
        ({"items": [{"quantity": 1, "discount": "0.001"}]}, "items[0].discount"),
        ({"discount": "-0.01"}, "discount"),
        ({"discount": "10.01"}, "discount"),
        ({"discount": "1.005"}, "discount"),
        ({"payments": [{"amount": "0", "method": "CASH"}]}, "payments[0].amount"),
        ({"payments": [{"amount": "-5.00", "method": "CASH"}]}, "payments[0].amount"),
        ({"payments": [{"amount": "9.00", "method": "CASH"}, {"amount": "9.00", "method": "UPI"}]},
         "payments"),
        ({"payments": [{"amount": "5.00", "method": "CASH"}], "walkIn": True}, "payments"),
        ({"walkIn": True}, "payments"),
    ],
)  # fmt: skip
async def test_bad_sales_name_the_field_write_nothing_and_take_no_number(
    tenant: Tenant, owner_db: AsyncEngine, sale: dict[str, Any], field: str
) -> None:
    rice, _ = await _shop(tenant)  # 10.00 at 5%: a line of one is 10.50
    customer = await make_customer(tenant)
    items = [{"productId": rice, "quantity": 1} | item for item in sale.pop("items", [{}])]
    walk_in = sale.pop("walkIn", False)
    result = await sell(tenant, items, customer=None if walk_in else customer, **sale)
    assert result["__typename"] == "InvalidInput", result
    assert [f["field"] for f in result["fields"]] == [field]
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["payments"], counts["charges"], counts["keys"]) == (0, 0, 0, 0)
    async with owner_db.connect() as connection:
        counters = await connection.execute(
            text("SELECT count(*) FROM bill_counters WHERE business_id = :b"), {"b": tenant.id}
        )
        assert counters.scalar_one() == 0
    done = await sell(tenant, [{"productId": rice, "quantity": 1}], customer=customer)
    assert done["order"]["number"] == f"BILL-{YEAR}-000001"


async def test_a_bill_discount_goes_to_the_largest_line_first(tenant: Tenant) -> None:
    rice, oil = await _shop(tenant)
    result = await sell(
        tenant, [{"productId": oil, "quantity": 1}, {"productId": rice, "quantity": 1}],
        discount="0.01", payments=[{"amount": "16.09", "method": "CASH"}],
    )  # fmt: skip
    # Lines in product order (rice first): 10.00 takes 0.00 and the remainder 0.01.
    assert [item["billDiscount"] for item in result["order"]["items"]] == ["0.01", "0.00"]
