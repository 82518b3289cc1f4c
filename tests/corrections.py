"""GraphQL snippets and helpers for the corrections: voids, returns, reversals,
adjustments and archiving."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.purchases import new_key

ADJUST_STOCK = """
mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) {
    __typename
    ... on StockAdjusted {
      product { id stock }
      movement { id kind quantity stockBefore stockAfter reason note createdAt }
    }
    ... on InsufficientStock { message lines { productId requested available } }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
    ... on IdempotencyKeyReused { message idempotencyKey }
  }
}
"""


async def adjust_stock(
    tenant: Tenant,
    product_id: str,
    change: int,
    *,
    reason: str = "DAMAGE",
    note: str | None = None,
    key: str | None = None,
    role: Role = Role.CLERK,
) -> dict[str, Any]:
    request = {
        "productId": product_id,
        "change": change,
        "reason": reason,
        "note": note,
        "idempotencyKey": key or new_key(),
    }
    data = await tenant.data(ADJUST_STOCK, {"input": request}, role=role)
    return data["adjustStock"]  # type: ignore[no-any-return]


async def count_rows(owner_db: AsyncEngine, business_id: int, table: str, where: str = "") -> int:
    """Rows of ``table`` (a name from the test itself) of a business, as the owner."""
    condition = f" AND {where}" if where else ""
    async with owner_db.connect() as connection:
        count = (
            await connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE business_id = :b{condition}"),
                {"b": business_id},
            )
        ).scalar_one()
    return int(count)


def archive_mutation(verb: str, what: str) -> str:
    """``archiveCustomer`` and friends; ``verb`` is ``archive`` or ``unarchive``, ``what``
    ``customer`` or ``product``."""
    name = f"{verb}{what.capitalize()}"
    done = f"{what.capitalize()}{'Archived' if verb == 'archive' else 'Unarchived'}"
    fields = "id archivedAt" + (" balance" if what == "customer" else " stock")
    return f"""
mutation($input: Archive{what.capitalize()}Input!) {{
  {name}(input: $input) {{
    __typename
    ... on {done} {{ {what} {{ {fields} }} }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""


async def set_archived(
    tenant: Tenant, what: str, row_id: str, *, archived: bool = True, role: Role = Role.CLERK
) -> dict[str, Any]:
    """``archiveCustomer`` and friends; ``what`` is ``customer`` or ``product``."""
    verb = "archive" if archived else "unarchive"
    name = f"{verb}{what.capitalize()}"
    data = await tenant.data(
        archive_mutation(verb, what), {"input": {f"{what}Id": row_id}}, role=role
    )
    return data[name]  # type: ignore[no-any-return]


REVERSE_PAYMENT = """
mutation($input: ReversePaymentInput!) {
  reversePayment(input: $input) {
    __typename
    ... on PaymentReversed {
      payment { id amount reversedAt reversalReason }
      customer { id balance creditLimit availableCredit overLimit }
    }
    ... on AlreadyReversed { message paymentId reversedAt }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
    ... on IdempotencyKeyReused { message idempotencyKey }
  }
}
"""


async def reverse_payment(
    tenant: Tenant,
    payment_id: str,
    *,
    reason: str = "Cheque bounced",
    key: str | None = None,
    role: Role = Role.OWNER,
) -> dict[str, Any]:
    request = {"paymentId": payment_id, "reason": reason, "idempotencyKey": key or new_key()}
    data = await tenant.data(REVERSE_PAYMENT, {"input": request}, role=role)
    return data["reversePayment"]  # type: ignore[no-any-return]


async def sell(
    tenant: Tenant,
    customer_id: str | None,
    items: list[tuple[str, int]],
    *,
    paid: list[tuple[str, str]] = (),  # type: ignore[assignment]
    discount: str | None = None,
    line_discounts: dict[str, str] | None = None,
    role: Role = Role.CLERK,
) -> dict[str, Any]:
    """A sale with counter payments ``(amount, method)`` and discounts; the result object."""
    request: dict[str, Any] = {
        "customerId": customer_id,
        "items": [
            {"productId": p, "quantity": q, "discount": (line_discounts or {}).get(p)}
            for p, q in items
        ],
        "payments": [{"amount": a, "method": m} for a, m in paid],
        "discount": discount,
        "idempotencyKey": new_key(),
    }
    data = await tenant.data(SELL, {"input": request}, role=role)
    return data["purchase"]  # type: ignore[no-any-return]


SELL = """
mutation($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted {
      order { id total paidAmount creditAmount taxTotal payments { id amount method } }
      customer { id balance }
    }
    ... on CreditLimitExceeded { message balance creditAmount }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
  }
}
"""


ADJUST_BALANCE = """
mutation($input: AdjustBalanceInput!) {
  adjustBalance(input: $input) {
    __typename
    ... on BalanceAdjusted {
      adjustment { id kind amount reason createdAt }
      customer { id balance }
    }
    ... on WriteOffExceedsBalance { message balance amount }
    ... on NotFound { message id }
    ... on InvalidInput { message fields { field message } }
    ... on IdempotencyKeyReused { message idempotencyKey }
  }
}
"""


async def adjust_balance(
    tenant: Tenant,
    customer_id: str,
    amount: str,
    *,
    kind: str = "WRITE_OFF",
    reason: str = "Goodwill",
    key: str | None = None,
    role: Role = Role.OWNER,
) -> dict[str, Any]:
    request = {
        "customerId": customer_id, "amount": amount, "kind": kind, "reason": reason,
        "idempotencyKey": key or new_key(),
    }  # fmt: skip
    data = await tenant.data(ADJUST_BALANCE, {"input": request}, role=role)
    return data["adjustBalance"]  # type: ignore[no-any-return]


ORDER_STATE = """
status voidedAt voidReason total
refunds { amount method }
returns { creditAmount credited refunded refundMethod reason items { productId quantity amount } }
"""

VOID_ORDER = f"""
mutation($input: VoidOrderInput!) {{
  voidOrder(input: $input) {{
    __typename
    ... on OrderVoided {{ order {{ id {ORDER_STATE} }} customer {{ id balance }} }}
    ... on AlreadyVoided {{ message orderId voidedAt }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
    ... on IdempotencyKeyReused {{ message idempotencyKey }}
  }}
}}
"""


async def void_order(
    tenant: Tenant,
    order_id: str,
    *,
    reason: str = "Rung up twice",
    key: str | None = None,
    role: Role = Role.OWNER,
) -> dict[str, Any]:
    request = {"orderId": order_id, "reason": reason, "idempotencyKey": key or new_key()}
    data = await tenant.data(VOID_ORDER, {"input": request}, role=role)
    return data["voidOrder"]  # type: ignore[no-any-return]


async def order_state(tenant: Tenant, order_id: str) -> dict[str, Any]:
    data = await tenant.data(f"query($id: ID!) {{ order(id: $id) {{ {ORDER_STATE} }} }}",
                             {"id": order_id})  # fmt: skip
    return data["order"]  # type: ignore[no-any-return]


async def movements(owner_db: AsyncEngine, business_id: int, kind: str) -> list[tuple[int, int]]:
    """(product id, quantity) of every stock movement of ``kind``, in order."""
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT product_id, quantity FROM stock_movements"
                " WHERE business_id = :b AND kind = :kind ORDER BY id"
            ),
            {"b": business_id, "kind": kind},
        )
        return [(row.product_id, row.quantity) for row in rows]


RETURN_ITEMS = f"""
mutation($input: ReturnItemsInput!) {{
  returnItems(input: $input) {{
    __typename
    ... on ItemsReturned {{
      orderReturn {{ id creditAmount credited refunded refundMethod reason
                     items {{ productId quantity amount }} }}
      order {{ id {ORDER_STATE} }}
      customer {{ id balance }}
    }}
    ... on ReturnExceedsSold {{ message lines {{ productId sold alreadyReturned requested }} }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
    ... on IdempotencyKeyReused {{ message idempotencyKey }}
  }}
}}
"""


async def return_items(
    tenant: Tenant,
    order_id: str,
    items: list[tuple[str, int]],
    *,
    refund_method: str | None = None,
    reason: str | None = None,
    key: str | None = None,
    role: Role = Role.CLERK,
) -> dict[str, Any]:
    request = {
        "orderId": order_id,
        "items": [{"productId": p, "quantity": q} for p, q in items],
        "refundMethod": refund_method,
        "reason": reason,
        "idempotencyKey": key or new_key(),
    }
    data = await tenant.data(RETURN_ITEMS, {"input": request}, role=role)
    return data["returnItems"]  # type: ignore[no-any-return]
