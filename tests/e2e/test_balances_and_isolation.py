"""``balances``, and that no read ever shows one business another's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import make_product
from tests.ledger_data import add_customer, charge, payment, post

pytestmark = pytest.mark.isolation

BALANCES = """
query($ids: [ID!]!) {
  balances(customerIds: $ids) { customerId balance creditLimit availableCredit }
}
"""


async def test_balances_answer_in_the_order_asked_with_nulls_for_strangers(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    over = await add_customer(owner_db, tenant.id, name="Over", credit_limit=5_000)
    fine = await add_customer(owner_db, tenant.id, name="Fine", credit_limit=50_000)
    stranger = await add_customer(owner_db, other_tenant.id, name="Stranger")
    now = datetime.now(UTC)
    await post(owner_db, tenant.id, over, [charge(7_000, now)])
    await post(owner_db, tenant.id, fine, [charge(7_000, now), payment(2_000, now)])

    ids = [str(fine), "abc", str(over), str(stranger), "999999999", str(fine), "0", "-1"]
    data = await tenant.data(BALANCES, {"ids": ids}, role=Role.VIEWER)
    assert data["balances"] == [
        {"customerId": str(fine), "balance": "50.00", "creditLimit": "500.00",
         "availableCredit": "450.00"},
        None,
        {"customerId": str(over), "balance": "70.00", "creditLimit": "50.00",
         "availableCredit": "0.00"},
        None,
        None,
        {"customerId": str(fine), "balance": "50.00", "creditLimit": "500.00",
         "availableCredit": "450.00"},
        None,
        None,
    ]  # fmt: skip
    assert (await tenant.data(BALANCES, {"ids": []}))["balances"] == []


async def test_balances_of_too_many_customers_at_once_are_refused(tenant: Tenant) -> None:
    answer = await tenant.gql(BALANCES, {"ids": [str(n) for n in range(1, 102)]})
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "customerIds"}


READS: dict[str, str] = {
    "customers": "{ customers(first: 100) { edges { node { id name balance } } } }",
    "owing": "{ customers(first: 100, owing: true) { edges { node { id } } } }",
    "search": '{ customers(first: 100, search: "Shared") { edges { node { id } } } }',
    "overdue": """{ customers(first: 100) { edges { node { id overdue(asOf: "2999-01-01T00:00:00Z")
                   { isOverdue overdueAmount } } } } }""",
    "overdueCustomers": """{ overdueCustomers(asOf: "2999-01-01T00:00:00Z", first: 100) {
                            edges { node { customer { id } overdueAmount } } } }""",
    "overdueCustomersPast": """{ overdueCustomers(asOf: "2000-01-01T00:00:00Z", first: 100) {
                                edges { node { customer { id } } } } }""",
    "aging": '{ agingReport(asOf: "2999-01-01T00:00:00Z") { total customerCount } }',
    "agingNow": "{ agingReport { total customerCount } }",
    "products": "{ products(first: 100) { edges { node { id name } } } }",
}


async def _seed(tenant: Tenant, owner_db: AsyncEngine, amount: int) -> tuple[int, str]:
    customer = await add_customer(owner_db, tenant.id, name="Shared name", phone="12345")
    await post(
        owner_db, tenant.id, customer,
        [charge(amount, datetime.now(UTC) - timedelta(days=5))],
    )  # fmt: skip
    product = await make_product(tenant, name="Shared product")
    return customer, product


@pytest.mark.parametrize("read", list(READS))
async def test_a_business_never_sees_another_business_in_any_read(
    read: str, tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    mine, my_product = await _seed(tenant, owner_db, 1_000)
    theirs, their_product = await _seed(other_tenant, owner_db, 99_900)
    answer = await tenant.data(READS[read])
    text = repr(answer)
    assert f"'{theirs}'" not in text
    assert f"'{their_product}'" not in text
    assert "999.00" not in text
    expected: dict[str, Any] = {
        "customers": str(mine),
        "owing": str(mine),
        "search": str(mine),
        "overdue": "10.00",
        "overdueCustomers": str(mine),
        "aging": "10.00",
        "agingNow": "10.00",
        "products": my_product,
    }
    if read in expected:
        assert f"'{expected[read]}'" in text
    else:
        assert answer == {"overdueCustomers": {"edges": []}}


async def test_another_business_s_customer_and_ledger_are_not_found(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    theirs, _ = await _seed(other_tenant, owner_db, 5_000)
    query = """query($id: ID!) { customer(id: $id) { id ledger(first: 5) { edges { node { id } } }
                                                      overdue { balance } } }"""
    assert await tenant.data(query, {"id": str(theirs)}) == {"customer": None}
    data = await other_tenant.data(query, {"id": str(theirs)})
    assert data["customer"]["overdue"] == {"balance": "50.00"}
