"""Voiding an order: everything it did is undone by new rows, none is edited.

Every unit goes back to stock (a ``return`` movement per line); with a customer,
ledger ``reversal`` entries point at the order's charge and at the entries of its
counter payments, so the balance loses exactly the order's credit part; every
counter payment that was not itself reversed (a bounced cheque) is refunded with
its own method.  An ``order_voids`` row (one per order, its primary key) says
when and why.  An order with returns is refused: return the rest instead, so
no unit or amount is ever given back twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from app.domain.purchases import OrderRecord
from app.domain.records import CustomerRecord
from app.domain.results import Invalid, KeyReused, Missing
from app.services import idempotency
from app.services.customers import get_customer
from app.services.locked_orders import lock_order
from app.services.orders import get_orders
from app.services.unit_of_work import ACTOR, CREATED_BY, TENANT, UnitOfWork

OPERATION = "voidOrder"


@dataclass(frozen=True)
class OrderVoided:
    order: OrderRecord
    customer: CustomerRecord | None


@dataclass(frozen=True)
class AlreadyVoided:
    order_id: int
    voided_at: datetime
    message: str = "This order was already voided."


VoidOutcome = OrderVoided | Missing | AlreadyVoided | Invalid | KeyReused

_VOID = text(
    f"INSERT INTO order_voids (business_id, order_id, reason, {CREATED_BY})"
    f" VALUES ({TENANT}, :id, :reason, {ACTOR})"
)
_RESTOCK = text(
    f"INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id,"
    f" {CREATED_BY}) SELECT business_id, product_id, 'return', quantity, order_id, {ACTOR}"
    f" FROM order_items"
    f" WHERE business_id = {TENANT} AND order_id = :id ORDER BY product_id"
)
_UNCHARGE = text(
    f"INSERT INTO credit_ledger (business_id, customer_id, kind, amount, reverses_entry_id,"
    f" {CREATED_BY}) SELECT business_id, customer_id, 'reversal', -amount, id, {ACTOR}"
    f" FROM credit_ledger"
    f" WHERE business_id = {TENANT} AND order_id = :id AND kind = 'charge'"
)
_UNPAY = text(
    f"INSERT INTO credit_ledger (business_id, customer_id, kind, amount, reverses_entry_id,"
    f" {CREATED_BY}) SELECT l.business_id, l.customer_id, 'reversal', -l.amount, l.id, {ACTOR}"
    f" FROM payments p JOIN credit_ledger l ON l.business_id = {TENANT} AND l.payment_id = p.id"
    f" WHERE p.business_id = {TENANT} AND p.order_id = :id AND NOT EXISTS ("
    f"   SELECT FROM credit_ledger r WHERE r.business_id = {TENANT} AND r.reverses_entry_id = l.id)"
    f" ORDER BY l.id"
)
_REFUND = text(
    f"INSERT INTO refunds (business_id, order_id, payment_id, amount, method, {CREATED_BY})"
    f" SELECT p.business_id, p.order_id, p.id, p.amount, p.method, {ACTOR} FROM payments p"
    f" WHERE p.business_id = {TENANT} AND p.order_id = :id AND NOT EXISTS ("
    f"   SELECT FROM payment_reversals r WHERE r.business_id = {TENANT} AND r.payment_id = p.id)"
    f" ORDER BY p.id"
)


async def void_order(
    uow: UnitOfWork, *, order_id: int, reason: str, idempotency_key: str
) -> VoidOutcome:
    hash_ = idempotency.request_hash(OPERATION, {"orderId": order_id, "reason": reason})
    locked = await lock_order(uow, order_id)
    if isinstance(locked, Missing):
        return locked
    earlier = await idempotency.recall(uow, key=idempotency_key, operation=OPERATION, hash_=hash_)
    if isinstance(earlier, KeyReused):
        return earlier
    if earlier is None:
        if locked.voided_at is not None:
            return AlreadyVoided(order_id, locked.voided_at)
        if locked.has_returns:
            return Invalid.one("orderId", "has returns: return the remaining items instead")
        params = {"id": order_id}
        await uow.execute(_VOID, {**params, "reason": reason})
        await uow.execute(_RESTOCK, params)
        if locked.order.customer_id is not None:
            await uow.execute(_UNCHARGE, params)
            await uow.execute(_UNPAY, params)
        await uow.execute(_REFUND, params)
        await idempotency.remember(
            uow, key=idempotency_key, operation=OPERATION, hash_=hash_,
            response={"orderId": order_id},
        )  # fmt: skip
    order = (await get_orders(uow, [order_id]))[order_id]
    customer = None
    if order.customer_id is not None:
        customer = await get_customer(uow, order.customer_id)
    await uow.commit()
    return OrderVoided(order, customer)
