"""Corrections never reach another tenant's rows, even with Row Level Security off."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.corrections import (
    adjust_balance,
    adjust_stock,
    return_items,
    reverse_payment,
    set_archived,
    void_order,
)
from tests.helpers import make_customer, make_product
from tests.purchases import buy, pay

pytestmark = pytest.mark.isolation


async def test_another_tenant_finds_none_of_the_rows_to_correct(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=10)
    order = (await buy(tenant, customer, [(product, 2)]))["order"]["id"]
    payment = (await pay(tenant, customer, "5.00"))["payment"]["id"]

    attempts = {
        "voidOrder": await void_order(other_tenant, order),
        "returnItems": await return_items(other_tenant, order, [(product, 1)]),
        "reversePayment": await reverse_payment(other_tenant, payment),
        "adjustBalance": await adjust_balance(other_tenant, customer, "1.00"),
        "adjustStock": await adjust_stock(other_tenant, product, -1),
        "archiveCustomer": await set_archived(other_tenant, "customer", customer),
        "archiveProduct": await set_archived(other_tenant, "product", product),
    }
    assert {name: answer["__typename"] for name, answer in attempts.items()} == dict.fromkeys(
        attempts, "NotFound"
    )
    assert await verify_business(owner_db, tenant.id) == []
    state = await tenant.data(
        "query($c: ID!, $p: ID!, $o: ID!) { customer(id: $c) { balance archivedAt }"
        " product(id: $p) { stock archivedAt } order(id: $o) { status } }",
        {"c": customer, "p": product, "o": order},
    )
    assert state == {
        "customer": {"balance": "15.00", "archivedAt": None},
        "product": {"stock": 8, "archivedAt": None},
        "order": {"status": "COMPLETED"},
    }
