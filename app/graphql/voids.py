"""The ``voidOrder`` mutation (owners): an order undone by new rows, none edited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain.results import Invalid, KeyReused, Missing, Problems
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
from app.graphql.orders import Order
from app.graphql.permissions import OWNER
from app.services import voids as service
from app.services.retry import with_retries


@strawberry.type
class OrderVoided:
    order: Order
    customer: Customer | None = strawberry.field(
        description="The customer just after the void; null for a walk-in sale."
    )


@strawberry.type
class AlreadyVoided:
    message: str
    order_id: strawberry.ID
    voided_at: datetime


VoidOrderResult = Annotated[
    OrderVoided | NotFound | AlreadyVoided | InvalidInput | IdempotencyKeyReused,
    strawberry.union("VoidOrderResult"),
]


@strawberry.input
class VoidOrderInput:
    order_id: strawberry.ID
    reason: str = strawberry.field(description="Why, 1 to 500 characters.")
    idempotency_key: str


@strawberry.type
class VoidMutations:
    @strawberry.mutation(permission_classes=OWNER)
    @audited("Order", by="orderId")
    async def void_order(self, info: Info, input: VoidOrderInput) -> VoidOrderResult:
        problems = Problems()
        order_id = read_id(input.order_id, "orderId", problems)
        reason = read_text(input.reason, "reason", problems, max_length=500, required=True)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        assert reason is not None

        async def attempt() -> service.VoidOutcome:
            async with info.context.uow() as uow:
                return await service.void_order(
                    uow, order_id=order_id, reason=reason, idempotency_key=key
                )

        outcome = await with_retries(attempt)
        minor_units = info.context.minor_units
        match outcome:
            case service.OrderVoided(customer=customer):
                return OrderVoided(
                    order=Order.of(outcome.order, minor_units, customer),
                    customer=None if customer is None else Customer.of(customer, minor_units),
                )
            case service.AlreadyVoided():
                return AlreadyVoided(
                    message=outcome.message,
                    order_id=gid(outcome.order_id),
                    voided_at=outcome.voided_at,
                )
            case Missing():
                return NotFound.of(outcome)
            case Invalid():
                return InvalidInput.of(outcome)
            case KeyReused():
                return IdempotencyKeyReused.of(outcome)
