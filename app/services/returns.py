"""Returning items of an order: a credit note, stock back, the balance first.

The credit note is what the customer paid for the units returned
(``app.domain.returns``: their share of the line and bill discounts and their tax
included, from what the order item stored when it was sold).  It lowers the
customer's balance first, down to zero; whatever is left (all of it for a walk-in
sale) is refunded by ``refund_method``.  The order row is locked
(``app.services.locked_orders``), so returns of one order never take more than
was sold between them, however they race.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from app.domain.purchases import OrderRecord, PaymentMethod
from app.domain.records import CustomerRecord
from app.domain.results import Invalid, KeyReused, Missing
from app.domain.returns import OverReturnedLine, ReturnLine, credit_for, settle
from app.services import idempotency
from app.services.customers import get_customer
from app.services.locked_orders import LockedOrder, lock_order
from app.services.order_corrections import OrderReturnRecord, order_corrections
from app.services.orders import get_orders
from app.services.unit_of_work import ACTOR, CREATED_BY, TENANT, UnitOfWork

OPERATION = "returnItems"


@dataclass(frozen=True)
class ItemsReturned:
    order_return: OrderReturnRecord
    order: OrderRecord
    customer: CustomerRecord | None


@dataclass(frozen=True)
class ReturnExceedsSold:
    lines: tuple[OverReturnedLine, ...]
    message: str = "More units would be returned than were sold."


ReturnOutcome = ItemsReturned | Missing | ReturnExceedsSold | Invalid | KeyReused

_RETURN = text(
    f"INSERT INTO order_returns (business_id, order_id, reason, refund_method, credit_amount,"
    f" credited, refunded, {CREATED_BY}) VALUES ({TENANT}, :order_id, :reason, :method,"
    f" :credit, :credited, :refunded, {ACTOR}) RETURNING id"
)
_ITEMS = text(
    f"INSERT INTO order_return_items (business_id, return_id, order_id, product_id, quantity,"
    f" amount) SELECT {TENANT}, :return_id, :order_id, l.product_id, l.quantity, l.amount"
    f" FROM unnest(CAST(:products AS bigint[]), CAST(:quantities AS bigint[]),"
    f" CAST(:amounts AS bigint[])) AS l (product_id, quantity, amount)"
)
_RESTOCK = text(
    f"INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id, return_id,"
    f" {CREATED_BY}) SELECT business_id, product_id, 'return', quantity, order_id, return_id,"
    f" {ACTOR}"
    f" FROM order_return_items WHERE business_id = {TENANT} AND return_id = :return_id"
    f" ORDER BY product_id"
)
_CREDIT = text(
    f"INSERT INTO credit_ledger (business_id, customer_id, kind, amount, return_id, {CREATED_BY})"
    f" VALUES ({TENANT}, :customer_id, 'return', :amount, :return_id, {ACTOR})"
)
_REFUND = text(
    f"INSERT INTO refunds (business_id, order_id, return_id, amount, method, {CREATED_BY})"
    f" VALUES ({TENANT}, :order_id, :return_id, :amount, :method, {ACTOR})"
)


def _decide(
    locked: LockedOrder, lines: tuple[ReturnLine, ...], refund_method: PaymentMethod | None
) -> tuple[list[int], int, int] | ReturnExceedsSold | Invalid:
    """The credit per line and (credited, refunded), or why the return is refused."""
    if locked.voided_at is not None:
        return Invalid.one("orderId", "the order was voided")
    sold = {item.product_id: item for item in locked.items}
    for index, line in enumerate(lines):
        if line.product_id not in sold:
            return Invalid.one(f"items[{index}].productId", "was not on this order")
    over = tuple(
        OverReturnedLine(line.product_id, sold[line.product_id].quantity,
                         locked.returned.get(line.product_id, 0), line.quantity)
        for line in lines
        if locked.returned.get(line.product_id, 0) + line.quantity > sold[line.product_id].quantity
    )  # fmt: skip
    if over:
        return ReturnExceedsSold(over)
    include = locked.order.prices_include_tax
    credits = [
        credit_for(sold[line.product_id], prices_include_tax=include,
                   already=locked.returned.get(line.product_id, 0), returning=line.quantity)
        for line in lines
    ]  # fmt: skip
    credited, refunded = settle(sum(credits), locked.balance)
    if refunded and refund_method is None:
        return Invalid.one("refundMethod", "is required: part of the credit is paid back")
    return credits, credited, refunded


async def return_items(
    uow: UnitOfWork,
    *,
    order_id: int,
    lines: tuple[ReturnLine, ...],
    refund_method: PaymentMethod | None,
    reason: str | None,
    idempotency_key: str,
) -> ReturnOutcome:
    """``lines``: one per product, sorted by product id, quantities positive."""
    method = None if refund_method is None else refund_method.value
    request = {"orderId": order_id, "lines": [[line.product_id, line.quantity] for line in lines],
               "refundMethod": method, "reason": reason}  # fmt: skip
    hash_ = idempotency.request_hash(OPERATION, request)
    locked = await lock_order(uow, order_id)
    if isinstance(locked, Missing):
        return locked
    earlier = await idempotency.recall(uow, key=idempotency_key, operation=OPERATION, hash_=hash_)
    if isinstance(earlier, KeyReused):
        return earlier
    if isinstance(earlier, idempotency.Replay):
        return_id = int(earlier.response["returnId"])
    else:
        decided = _decide(locked, lines, refund_method)
        if not isinstance(decided, tuple):
            return decided
        credits, credited, refunded = decided
        ids = {"order_id": order_id}
        totals = {"credit": credited + refunded, "credited": credited, "refunded": refunded}
        row = {**ids, "reason": reason, "method": method, **totals}
        return_id = (await uow.execute(_RETURN, row)).scalar_one()
        ids["return_id"] = return_id
        await uow.execute(
            _ITEMS,
            {**ids, "products": [line.product_id for line in lines],
             "quantities": [line.quantity for line in lines], "amounts": credits},
        )  # fmt: skip
        await uow.execute(_RESTOCK, ids)
        if credited:
            await uow.execute(
                _CREDIT,
                {**ids, "customer_id": locked.order.customer_id, "amount": -credited},
            )
        if refunded:
            await uow.execute(_REFUND, {**ids, "amount": refunded, "method": method})
        await idempotency.remember(
            uow, key=idempotency_key, operation=OPERATION, hash_=hash_,
            response={"returnId": return_id},
        )  # fmt: skip
    order = (await get_orders(uow, [order_id]))[order_id]
    done = next(r for r in (await order_corrections(uow, [order_id]))[order_id].returns
                if r.id == return_id)  # fmt: skip
    customer = None
    if order.customer_id is not None:
        customer = await get_customer(uow, order.customer_id)
    await uow.commit()
    return ItemsReturned(done, order, customer)
