"""What a receipt shows: one order with its lines and payments, the store, the customer
and their balance just after the sale, read in one transaction (one snapshot).

The balance after the sale is the ledger's own figure, never recomputed: the
``balance_after`` of the last entry the sale wrote (its charge, or the payment of
the money paid at the counter), else, for a sale that wrote none (all free), the
customer's last entry before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import text

from app.domain.purchases import OrderRecord
from app.domain.records import CustomerRecord
from app.domain.settings import StoreSettings
from app.services.customers import get_customers
from app.services.orders import get_items, get_orders
from app.services.payments import order_payments
from app.services.settings import get_settings
from app.services.unit_of_work import TENANT, UnitOfWork


@dataclass(frozen=True)
class Receipt:
    store: StoreSettings
    order: OrderRecord
    """With its items and payments."""
    customer: CustomerRecord | None
    """``None`` for a walk-in sale."""
    balance_after: int | None
    """The customer's balance just after the sale; ``None`` for a walk-in sale."""


_BALANCE_AFTER = text(
    f"SELECT coalesce("
    f" (SELECT l.balance_after FROM credit_ledger l"
    f"   WHERE l.business_id = {TENANT} AND l.customer_id = :customer_id"
    f"   AND (l.order_id = :order_id OR l.payment_id IN (SELECT p.id FROM payments p"
    f"        WHERE p.business_id = {TENANT} AND p.order_id = :order_id))"
    f"   ORDER BY l.id DESC LIMIT 1),"
    f" (SELECT l.balance_after FROM credit_ledger l"
    f"   WHERE l.business_id = {TENANT} AND l.customer_id = :customer_id"
    f"   AND l.created_at <= :sold_at ORDER BY l.id DESC LIMIT 1),"
    f" 0)"
)


async def get_receipt(uow: UnitOfWork, order_id: int) -> Receipt | None:
    """The receipt of the caller's order ``order_id``; ``None`` if it has none such."""
    order = (await get_orders(uow, [order_id])).get(order_id)
    if order is None:
        return None
    items = (await get_items(uow, [order_id]))[order_id]
    payments = (await order_payments(uow, [order_id]))[order_id]
    customer = balance_after = None
    if order.customer_id is not None:
        customer = (await get_customers(uow, [order.customer_id]))[order.customer_id]
        balance_after = (
            await uow.execute(
                _BALANCE_AFTER,
                {
                    "customer_id": order.customer_id,
                    "order_id": order_id,
                    "sold_at": order.created_at,
                },
            )
        ).scalar_one()
    return Receipt(
        store=await get_settings(uow),
        order=replace(order, items=items, payments=payments),
        customer=customer,
        balance_after=balance_after,
    )
