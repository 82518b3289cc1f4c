"""An order locked for a correction (a void, a return), with what it has become.

Locks in the order every path takes (docs/design.md, *Lock order*): the order's customer
first (read from the order, which never changes), then the order row, then its
products in ascending id; the caller stores its idempotency key after that.
Two corrections of one order therefore run one after the other, and the second
sees everything the first committed: two returns can never both take the same
unsold units, and a void and a return are each decided on the other's outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from app.domain.purchases import OrderItemRecord, OrderRecord
from app.domain.results import Missing
from app.services.orders import get_items, get_orders
from app.services.unit_of_work import TENANT, UnitOfWork


@dataclass(frozen=True)
class LockedOrder:
    order: OrderRecord
    items: tuple[OrderItemRecord, ...]
    voided_at: datetime | None
    returned: dict[int, int]
    """Units already returned, by product."""
    balance: int | None
    """The customer's balance under the lock; ``None`` for a walk-in sale."""

    @property
    def has_returns(self) -> bool:
        return any(self.returned.values())


_LOCK_CUSTOMER = text(
    f"SELECT balance FROM customers WHERE business_id = {TENANT} AND id = :id FOR UPDATE"
)
_LOCK_ORDER = text(
    f"SELECT v.created_at AS voided_at FROM orders o"
    f" LEFT JOIN order_voids v ON v.business_id = {TENANT} AND v.order_id = o.id"
    f" WHERE o.business_id = {TENANT} AND o.id = :id FOR UPDATE OF o"
)
_LOCK_PRODUCTS = text(
    f"SELECT id FROM products WHERE business_id = {TENANT} AND id = ANY(:ids)"
    f" ORDER BY id FOR UPDATE"
)
_RETURNED = text(
    f"SELECT product_id, sum(quantity) AS returned FROM order_return_items"
    f" WHERE business_id = {TENANT} AND order_id = :id GROUP BY product_id"
)


async def lock_order(uow: UnitOfWork, order_id: int) -> LockedOrder | Missing:
    order = (await get_orders(uow, [order_id])).get(order_id)
    if order is None:
        return Missing("Order", str(order_id))
    balance = None
    if order.customer_id is not None:
        balance = (await uow.execute(_LOCK_CUSTOMER, {"id": order.customer_id})).scalar_one()
    voided_at = (await uow.execute(_LOCK_ORDER, {"id": order_id})).scalar_one()
    items = (await get_items(uow, [order_id]))[order_id]
    await lock_products(uow, [item.product_id for item in items])
    returned = {row.product_id: int(row.returned) for row in await uow.execute(
        _RETURNED, {"id": order_id}
    )}  # fmt: skip
    return LockedOrder(order, items, voided_at, returned, balance)


async def lock_products(uow: UnitOfWork, product_ids: Sequence[int]) -> None:
    await uow.execute(_LOCK_PRODUCTS, {"ids": sorted(set(product_ids))})
