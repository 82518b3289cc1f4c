"""GraphQL snippets the tests share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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
    tenant: Tenant, *, price: str = "10.00", stock: int = 100, name: str = "Rice", **extra: Any
) -> str:
    global _sku_counter  # noqa: PLW0603
    _sku_counter += 1
    data = await tenant.data(
        CREATE_PRODUCT,
        {
            "input": {
                "name": name,
                "sku": f"SKU-{_sku_counter}",
                "price": price,
                "stock": stock,
                **extra,
            }
        },
    )
    result = data["createProduct"]
    assert result["__typename"] == "ProductCreated", result
    return str(result["product"]["id"])


UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    __typename
    ... on CustomerUpdated {
      customer { id name phone email creditLimit balance paymentTermsDays }
    }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
  }
}
"""

UPDATE_PRODUCT = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    __typename
    ... on ProductUpdated { product { id name sku price stock } }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
  }
}
"""

RESTOCK_PRODUCT = """
mutation($input: RestockProductInput!) {
  restockProduct(input: $input) {
    __typename
    ... on ProductRestocked { product { id name sku price stock } }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
    ... on IdempotencyKeyReused { message idempotencyKey }
  }
}
"""

CUSTOMER = """
query($id: ID!) {
  customer(id: $id) {
    id name phone email creditLimit balance availableCredit paymentTermsDays createdAt
  }
}
"""

PRODUCT = "query($id: ID!) { product(id: $id) { id name sku price stock } }"

VIEWER = "{ viewer { business { id name currency paymentTermsDays } role } }"


def error_codes(answer: dict[str, Any]) -> list[str | None]:
    """The ``extensions.code`` of every error in a GraphQL answer."""
    return [(error.get("extensions") or {}).get("code") for error in answer.get("errors", [])]


TENANT_TABLES = (
    "api_keys",
    "customers",
    "products",
    "orders",
    "order_items",
    "payments",
    "credit_ledger",
    "stock_movements",
    "idempotency_keys",
    "users",
    "user_sessions",
    "refresh_tokens",
)


async def row_counts(owner_db: AsyncEngine, business_id: int) -> dict[str, int]:
    """How many rows the business has in each tenant table (as the owner, tenant bound)."""
    counts = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM {table} WHERE business_id = :b" for table in TENANT_TABLES
    )
    async with owner_db.connect() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
        )
        rows = (await connection.execute(text(counts), {"b": business_id})).all()
        await connection.rollback()
    return dict(rows)
