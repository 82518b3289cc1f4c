"""GraphQL snippets and helpers for purchases, payments and their side effects."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant

CUSTOMER_FIELDS = "id balance creditLimit availableCredit"

PURCHASE = f"""
mutation($input: PurchaseInput!) {{
  purchase(input: $input) {{
    __typename
    ... on PurchaseCompleted {{
      order {{
        id number total note createdAt
        customer {{ id }}
        items {{ productName quantity unitPrice lineTotal product {{ id stock }} }}
      }}
      customer {{ {CUSTOMER_FIELDS} }}
    }}
    ... on InsufficientStock {{ message lines {{ productId requested available }} }}
    ... on CreditLimitExceeded {{ message creditLimit balance orderTotal availableCredit }}
    ... on PriceChanged {{ message expectedTotal actualTotal }}
    ... on ProductNotActive {{ message productId status }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
    ... on IdempotencyKeyReused {{ message idempotencyKey }}
  }}
}}
"""

# What a point-of-sale client would send: no nested reads beyond the answer.
PURCHASE_LEAN = """
mutation($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id total items { quantity } } customer { balance } }
    ... on InsufficientStock { lines { productId requested available } }
    ... on CreditLimitExceeded { creditLimit balance orderTotal }
  }
}
"""

RECORD_PAYMENT = f"""
mutation($input: RecordPaymentInput!) {{
  recordPayment(input: $input) {{
    __typename
    ... on PaymentRecorded {{
      payment {{ id amount method reference createdAt }}
      customer {{ {CUSTOMER_FIELDS} }}
    }}
    ... on PaymentExceedsBalance {{ message balance amount }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
    ... on IdempotencyKeyReused {{ message idempotencyKey }}
  }}
}}
"""

RESTOCK = """
mutation($input: RestockProductInput!) {
  restockProduct(input: $input) {
    __typename
    ... on ProductRestocked { product { id stock } }
  }
}
"""


def new_key() -> str:
    return uuid.uuid4().hex


def purchase_input(
    customer_id: str,
    items: list[tuple[str, int]],
    *,
    key: str | None = None,
    expected_total: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "customerId": customer_id,
        "items": [{"productId": p, "quantity": q} for p, q in items],
        "idempotencyKey": key or new_key(),
    }
    if expected_total is not None:
        request["expectedTotal"] = expected_total
    if note is not None:
        request["note"] = note
    return {"input": request}


async def buy(
    tenant: Tenant,
    customer_id: str,
    items: list[tuple[str, int]],
    *,
    query: str = PURCHASE,
    role: Role = Role.CLERK,
    **options: Any,
) -> dict[str, Any]:
    """The ``purchase`` result object (must not be a GraphQL error)."""
    data = await tenant.data(query, purchase_input(customer_id, items, **options), role=role)
    return data["purchase"]  # type: ignore[no-any-return]


async def pay(
    tenant: Tenant,
    customer_id: str,
    amount: str,
    *,
    method: str = "CASH",
    key: str | None = None,
    reference: str | None = None,
    role: Role = Role.CLERK,
) -> dict[str, Any]:
    request = {
        "customerId": customer_id,
        "amount": amount,
        "method": method,
        "idempotencyKey": key or new_key(),
        "reference": reference,
    }
    data = await tenant.data(RECORD_PAYMENT, {"input": request}, role=role)
    return data["recordPayment"]  # type: ignore[no-any-return]


async def restock(tenant: Tenant, product_id: str, quantity: int) -> dict[str, Any]:
    request = {"productId": product_id, "quantity": quantity, "idempotencyKey": new_key()}
    data = await tenant.data(RESTOCK, {"input": request}, role=Role.CLERK)
    return data["restockProduct"]  # type: ignore[no-any-return]


_COUNTS = text(
    """
    SELECT (SELECT count(*) FROM orders WHERE business_id = :b) AS orders,
           (SELECT count(*) FROM order_items WHERE business_id = :b) AS items,
           (SELECT count(*) FROM stock_movements
             WHERE business_id = :b AND kind = 'sale') AS sales,
           (SELECT count(*) FROM credit_ledger
             WHERE business_id = :b AND kind = 'charge') AS charges,
           (SELECT count(*) FROM payments WHERE business_id = :b) AS payments,
           (SELECT count(*) FROM credit_ledger
             WHERE business_id = :b AND kind = 'payment') AS payment_entries,
           (SELECT count(*) FROM idempotency_keys WHERE business_id = :b) AS keys
    """
)


async def written(owner_db: AsyncEngine, business_id: int) -> dict[str, int]:
    """How many rows of each kind a purchase or payment writes exist for a business."""
    async with owner_db.connect() as connection:
        row = (await connection.execute(_COUNTS, {"b": business_id})).one()
    return dict(row._mapping)


async def stock_of(owner_db: AsyncEngine, product_id: str) -> int:
    async with owner_db.connect() as connection:
        stock = (
            await connection.execute(
                text("SELECT stock FROM products WHERE id = :id"), {"id": int(product_id)}
            )
        ).scalar_one()
    return int(stock)


async def customer_state(tenant: Tenant, customer_id: str) -> dict[str, Any]:
    data = await tenant.data(
        f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}", {"id": customer_id}
    )
    return data["customer"]  # type: ignore[no-any-return]


async def blocked_purchase_pid(owner_db: AsyncEngine) -> int:
    """The backend of a purchase waiting on a lock (polls for up to a second)."""
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE '%SELECT purchase(%'"
    )
    for _ in range(100):
        async with owner_db.connect() as connection:
            pid = (await connection.execute(query)).scalar_one_or_none()
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError("the purchase never blocked")


async def numbered_bills(owner_db: AsyncEngine, business_id: int, count: int) -> list[str]:
    """The business's bill numbers in order id order, once ``count`` are taken: a sale
    whose client did not ask for its number is numbered just after its answer
    (``app.services.bills.Numbering``).  Fails after ten seconds."""
    deadline = time.monotonic() + 10
    while True:
        async with owner_db.connect() as connection:
            rows = await connection.execute(
                text("SELECT number FROM bill_numbers WHERE business_id = :b ORDER BY order_id"),
                {"b": business_id},
            )
            numbers = [number for (number,) in rows]
        if len(numbers) >= count:
            return numbers
        assert time.monotonic() < deadline, f"{len(numbers)} of {count} sales numbered"
        await asyncio.sleep(0.02)
