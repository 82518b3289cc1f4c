"""GraphQL snippets the tests share."""

from __future__ import annotations

from typing import Any

from app.domain.identity import Role
from tests.conftest import Tenant

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    __typename
    ... on CustomerCreated {
      customer { id name creditLimit balance availableCredit paymentTermsDays }
    }
    ... on InvalidInput { message fields { field message } }
  }
}
"""

CREATE_PRODUCT = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on ProductCreated { product { id name sku price stock } }
    ... on InvalidInput { message fields { field message } }
  }
}
"""


async def make_customer(
    tenant: Tenant, *, name: str = "Asha", credit_limit: str = "10000.00", **extra: Any
) -> str:
    data = await tenant.data(
        CREATE_CUSTOMER,
        {"input": {"name": name, "creditLimit": credit_limit, **extra}},
        role=Role.OWNER,
    )
    result = data["createCustomer"]
    assert result["__typename"] == "CustomerCreated", result
    return str(result["customer"]["id"])


_sku_counter = 0


async def make_product(
    tenant: Tenant, *, price: str = "10.00", stock: int = 100, name: str = "Rice"
) -> str:
    global _sku_counter  # noqa: PLW0603
    _sku_counter += 1
    data = await tenant.data(
        CREATE_PRODUCT,
        {"input": {"name": name, "sku": f"SKU-{_sku_counter}", "price": price, "stock": stock}},
    )
    result = data["createProduct"]
    assert result["__typename"] == "ProductCreated", result
    return str(result["product"]["id"])
