"""A business can never read or change another business's rows through the API.

Every query and mutation that takes an id is called by business A with ids of
business B.  The answer must be ``null`` or ``NotFound``, must not carry B's
data, and B must look exactly the same afterwards.  A new operation that takes
an id is one more line in ``OPERATIONS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import (
    CUSTOMER,
    PRODUCT,
    RESTOCK_PRODUCT,
    UPDATE_CUSTOMER,
    UPDATE_PRODUCT,
    make_customer,
    make_product,
    row_counts,
)

pytestmark = pytest.mark.isolation

NULL = "null"
NOT_FOUND = "NotFound"
SECRET_NAME = "Victim-only name"


@dataclass(frozen=True)
class Victim:
    """Business B's ids."""

    customer: str
    product: str


@dataclass(frozen=True)
class CrossTenant:
    field: str
    document: str
    variables: Callable[[Victim], dict[str, Any]]
    expect: str


OPERATIONS = [
    CrossTenant("customer", CUSTOMER, lambda b: {"id": b.customer}, NULL),
    CrossTenant("product", PRODUCT, lambda b: {"id": b.product}, NULL),
    CrossTenant("updateCustomer", UPDATE_CUSTOMER, lambda b: {"input": {
        "customerId": b.customer, "name": "Hijacked", "creditLimit": "999999.00",
        "email": "thief@example.com"}}, NOT_FOUND),
    CrossTenant("updateProduct", UPDATE_PRODUCT, lambda b: {"input": {
        "productId": b.product, "name": "Hijacked", "sku": "STOLEN", "price": "0.01"}},
        NOT_FOUND),
    CrossTenant("restockProduct", RESTOCK_PRODUCT, lambda b: {"input": {
        "productId": b.product, "quantity": 1000, "idempotencyKey": uuid.uuid4().hex}},
        NOT_FOUND),
]  # fmt: skip


async def view_of(tenant: Tenant, victim: Victim) -> dict[str, Any]:
    return {
        **await tenant.data(CUSTOMER, {"id": victim.customer}),
        **await tenant.data(PRODUCT, {"id": victim.product}),
    }


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.field for op in OPERATIONS])
async def test_another_businesss_id_answers_not_found_and_changes_nothing(
    owner_db: AsyncEngine, tenant: Tenant, other_tenant: Tenant, operation: CrossTenant
) -> None:
    """As A's owner, the key that may do the most."""
    victim = Victim(
        customer=await make_customer(other_tenant, name=SECRET_NAME, email="b@example.com"),
        product=await make_product(other_tenant, name=SECRET_NAME, stock=7),
    )
    before = await view_of(other_tenant, victim), await row_counts(owner_db, other_tenant.id)
    own_rows = await row_counts(owner_db, tenant.id)

    answer = await tenant.gql(operation.document, operation.variables(victim), role=Role.OWNER)

    assert "errors" not in answer, answer
    result = answer["data"][operation.field]
    if operation.expect == NULL:
        assert result is None
    else:
        assert result["__typename"] == NOT_FOUND, result
    assert SECRET_NAME not in str(answer)
    assert (await view_of(other_tenant, victim), await row_counts(owner_db, other_tenant.id)) == (
        before
    )
    assert await row_counts(owner_db, tenant.id) == own_rows


async def test_the_same_ids_work_for_their_own_business(other_tenant: Tenant) -> None:
    """The control for the test above: B's ids are real, and B reaches them."""
    victim = Victim(
        customer=await make_customer(other_tenant, name=SECRET_NAME),
        product=await make_product(other_tenant, name=SECRET_NAME),
    )
    view = await view_of(other_tenant, victim)
    assert view["customer"]["name"] == SECRET_NAME
    assert view["product"]["name"] == SECRET_NAME
    for operation in OPERATIONS:
        answer = await other_tenant.data(operation.document, operation.variables(victim))
        result = answer[operation.field]
        assert result is not None
        assert result.get("__typename") != NOT_FOUND, (operation.field, result)
