"""The ``returnItems`` mutation (owners and clerks): a credit note for units returned."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain import purchases as domain
from app.domain.results import Invalid, KeyReused, Missing, Problems
from app.domain.returns import ReturnLine
from app.graphql.audited import audited
from app.graphql.common import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    gid,
    read_id,
    read_idempotency_key,
    read_text,
)
from app.graphql.context import Info
from app.graphql.customers import Customer
from app.graphql.order_corrections import OrderReturn
from app.graphql.orders import Order
from app.graphql.permissions import WRITE
from app.services import returns as service
from app.services.retry import with_retries


@strawberry.type
class ItemsReturned:
    order_return: OrderReturn
    order: Order
    customer: Customer | None = strawberry.field(
        description="The customer just after the return; null for a walk-in sale."
    )


@strawberry.type
class ReturnExceedsSoldLine:
    product_id: strawberry.ID
    sold: int
    already_returned: int
    requested: int


@strawberry.type
class ReturnExceedsSold:
    message: str
    lines: list[ReturnExceedsSoldLine] = strawberry.field(description="Every line over.")


ReturnItemsResult = Annotated[
    ItemsReturned | NotFound | ReturnExceedsSold | InvalidInput | IdempotencyKeyReused,
    strawberry.union("ReturnItemsResult"),
]


@strawberry.input
class ReturnItemInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class ReturnItemsInput:
    order_id: strawberry.ID
    items: list[ReturnItemInput]
    idempotency_key: str
    refund_method: domain.PaymentMethod | None = strawberry.field(
        default=None, description="How any credit beyond the balance is paid back."
    )
    reason: str | None = None


def _read_lines(items: list[ReturnItemInput], problems: Problems) -> tuple[ReturnLine, ...]:
    """One line per product, quantities added, in ascending product id."""
    if not 1 <= len(items) <= domain.MAX_LINES:
        problems.add("items", f"must have 1 to {domain.MAX_LINES} lines")
    merged: dict[int, int] = {}
    for index, item in enumerate(items[: domain.MAX_LINES]):
        product_id = read_id(item.product_id, f"items[{index}].productId", problems)
        if not 1 <= item.quantity <= domain.MAX_QUANTITY:
            problems.add(f"items[{index}].quantity", f"must be 1 to {domain.MAX_QUANTITY}")
        merged[product_id] = merged.get(product_id, 0) + item.quantity
    return tuple(ReturnLine(product_id, merged[product_id]) for product_id in sorted(merged))


def _result(outcome: service.ReturnOutcome, minor_units: int) -> ReturnItemsResult:
    match outcome:
        case service.ItemsReturned(customer=customer):
            return ItemsReturned(
                order_return=OrderReturn.of(outcome.order_return, minor_units),
                order=Order.of(outcome.order, minor_units, customer),
                customer=None if customer is None else Customer.of(customer, minor_units),
            )
        case service.ReturnExceedsSold(lines=lines):
            return ReturnExceedsSold(
                message=outcome.message,
                lines=[
                    ReturnExceedsSoldLine(
                        product_id=gid(line.product_id),
                        sold=line.sold,
                        already_returned=line.already_returned,
                        requested=line.requested,
                    )
                    for line in lines
                ],
            )
        case Missing():
            return NotFound.of(outcome)
        case Invalid():
            return InvalidInput.of(outcome)
        case KeyReused():
            return IdempotencyKeyReused.of(outcome)


@strawberry.type
class ReturnMutations:
    @strawberry.mutation(permission_classes=WRITE)
    @audited("Order", by="orderId")
    async def return_items(self, info: Info, input: ReturnItemsInput) -> ReturnItemsResult:
        problems = Problems()
        order_id = read_id(input.order_id, "orderId", problems)
        lines = _read_lines(input.items, problems)
        reason = read_text(input.reason, "reason", problems, max_length=500, required=False)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)

        async def attempt() -> service.ReturnOutcome:
            async with info.context.uow() as uow:
                return await service.return_items(
                    uow, order_id=order_id, lines=lines, refund_method=input.refund_method,
                    reason=reason, idempotency_key=key,
                )  # fmt: skip

        return _result(await with_retries(attempt), info.context.minor_units)
