"""What became of orders: voided, returned in part or in full, and what was refunded.

Read for a batch of orders in three statements (voids with the units sold and
returned, returns with their items, refunds), so the dataloader behind
``Order.status``, ``returns`` and ``refunds`` costs three queries per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy import text

from app.domain.identity import NOBODY, CreatedBy
from app.domain.purchases import PaymentMethod
from app.services.unit_of_work import TENANT, UnitOfWork


class OrderStatus(Enum):
    COMPLETED = "COMPLETED"
    PARTIALLY_RETURNED = "PARTIALLY_RETURNED"
    RETURNED = "RETURNED"
    VOIDED = "VOIDED"


@dataclass(frozen=True)
class ReturnItemRecord:
    product_id: int
    quantity: int
    amount: int
    """The credit for these units."""


@dataclass(frozen=True)
class OrderReturnRecord:
    id: int
    order_id: int
    reason: str | None
    refund_method: PaymentMethod | None
    credit_amount: int
    """The credit note: what the customer paid for the units returned."""
    credited: int
    """The part that lowered the customer's balance."""
    refunded: int
    """The part paid back by ``refund_method``."""
    created_at: datetime
    items: tuple[ReturnItemRecord, ...]
    created_by: CreatedBy = NOBODY


@dataclass(frozen=True)
class RefundRecord:
    id: int
    amount: int
    method: PaymentMethod
    return_id: int | None
    """``None``: a void's refund of a counter payment."""
    payment_id: int | None
    created_at: datetime
    created_by: CreatedBy = NOBODY


@dataclass
class OrderCorrections:
    status: OrderStatus = OrderStatus.COMPLETED
    voided_at: datetime | None = None
    void_reason: str | None = None
    voided_by: CreatedBy = NOBODY
    returns: list[OrderReturnRecord] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)


_STATE = text(
    f"SELECT o.id, v.created_at AS voided_at, v.reason, v.created_by_user_id,"
    f" v.created_by_key_id,"
    f" (SELECT sum(i.quantity) FROM order_items i"
    f"   WHERE i.business_id = {TENANT} AND i.order_id = o.id) AS sold,"
    f" (SELECT coalesce(sum(r.quantity), 0) FROM order_return_items r"
    f"   WHERE r.business_id = {TENANT} AND r.order_id = o.id) AS returned"
    f" FROM orders o LEFT JOIN order_voids v ON v.business_id = {TENANT} AND v.order_id = o.id"
    f" WHERE o.business_id = {TENANT} AND o.id = ANY(:ids)"
)
_RETURNS = text(
    f"SELECT r.id, r.order_id, r.reason, r.refund_method, r.credit_amount, r.credited,"
    f" r.refunded, r.created_at, r.created_by_user_id, r.created_by_key_id, i.product_id,"
    f" i.quantity, i.amount"
    f" FROM order_returns r JOIN order_return_items i"
    f"   ON i.business_id = {TENANT} AND i.return_id = r.id"
    f" WHERE r.business_id = {TENANT} AND r.order_id = ANY(:ids) ORDER BY r.id, i.product_id"
)
_REFUNDS = text(
    f"SELECT id, order_id, return_id, payment_id, amount, method, created_at,"
    f" created_by_user_id, created_by_key_id FROM refunds"
    f" WHERE business_id = {TENANT} AND order_id = ANY(:ids) ORDER BY id"
)


def _status(voided: bool, sold: int, returned: int) -> OrderStatus:
    if voided:
        return OrderStatus.VOIDED
    if returned == 0:
        return OrderStatus.COMPLETED
    return OrderStatus.RETURNED if returned >= sold else OrderStatus.PARTIALLY_RETURNED


async def order_corrections(
    uow: UnitOfWork, order_ids: Sequence[int]
) -> dict[int, OrderCorrections]:
    ids = {"ids": list(order_ids)}
    found = {order_id: OrderCorrections() for order_id in order_ids}
    for row in await uow.execute(_STATE, ids):
        state = found[row.id]
        state.status = _status(row.voided_at is not None, int(row.sold or 0), int(row.returned))
        state.voided_at, state.void_reason = row.voided_at, row.reason
        state.voided_by = CreatedBy(row.created_by_user_id, row.created_by_key_id)
    items: dict[int, list[ReturnItemRecord]] = {}
    heads = {}
    for row in await uow.execute(_RETURNS, ids):
        items.setdefault(row.id, []).append(
            ReturnItemRecord(row.product_id, row.quantity, row.amount)
        )
        heads[row.id] = row
    for return_id, row in heads.items():
        found[row.order_id].returns.append(
            OrderReturnRecord(
                id=return_id,
                order_id=row.order_id,
                reason=row.reason,
                refund_method=None
                if row.refund_method is None
                else PaymentMethod(row.refund_method),
                credit_amount=row.credit_amount,
                credited=row.credited,
                refunded=row.refunded,
                created_at=row.created_at,
                items=tuple(items[return_id]),
                created_by=CreatedBy(row.created_by_user_id, row.created_by_key_id),
            )
        )
    for row in await uow.execute(_REFUNDS, ids):
        found[row.order_id].refunds.append(
            RefundRecord(
                id=row.id,
                amount=row.amount,
                method=PaymentMethod(row.method),
                return_id=row.return_id,
                payment_id=row.payment_id,
                created_at=row.created_at,
                created_by=CreatedBy(row.created_by_user_id, row.created_by_key_id),
            )
        )
    return found
