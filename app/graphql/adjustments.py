"""The ``adjustBalance`` mutation (owners): a write-off or a correction of a balance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain.identity import CreatedBy
from app.domain.money import MoneyError, to_minor
from app.domain.results import KeyReused, Missing, Problems
from app.graphql.actors import Actor, actor_field
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
from app.graphql.permissions import OWNER
from app.graphql.scalars import Money, money
from app.services import adjustments as service
from app.services.retry import with_retries

strawberry.enum(service.AdjustmentKind, name="BalanceAdjustmentKind")


@strawberry.type
class BalanceAdjustment:
    id: strawberry.ID
    kind: service.AdjustmentKind
    amount: Money = strawberry.field(
        description="What it did to the balance: negative lowered what is owed."
    )
    reason: str
    created_at: datetime
    created_by_ref: strawberry.Private[CreatedBy]
    created_by: Actor | None = actor_field(lambda adjustment: adjustment.created_by_ref)


@strawberry.type
class BalanceAdjusted:
    adjustment: BalanceAdjustment
    customer: Customer = strawberry.field(description="The customer just after it.")


@strawberry.type
class WriteOffExceedsBalance:
    message: str
    balance: Money
    amount: Money


AdjustBalanceResult = Annotated[
    BalanceAdjusted | WriteOffExceedsBalance | NotFound | InvalidInput | IdempotencyKeyReused,
    strawberry.union("AdjustBalanceResult"),
]


@strawberry.input
class AdjustBalanceInput:
    customer_id: strawberry.ID
    amount: Money = strawberry.field(
        description=(
            "WRITE_OFF: what is forgiven (positive, at most the balance). CORRECTION: the"
            " change to what is owed (positive: owes more, negative: owes less)."
        )
    )
    reason: str = strawberry.field(description="Why, 1 to 500 characters.")
    kind: service.AdjustmentKind
    idempotency_key: str


@strawberry.type
class AdjustmentMutations:
    @strawberry.mutation(permission_classes=OWNER)
    @audited("Customer", by="customerId")
    async def adjust_balance(self, info: Info, input: AdjustBalanceInput) -> AdjustBalanceResult:
        problems = Problems()
        minor_units = info.context.minor_units
        customer_id = read_id(input.customer_id, "customerId", problems)
        amount = 0
        try:
            amount = to_minor(input.amount, minor_units)
        except MoneyError as exc:
            problems.add("amount", str(exc))
        else:
            if amount == 0 or (input.kind is service.AdjustmentKind.WRITE_OFF and amount < 0):
                problems.add("amount", "must not be zero; a write-off must be positive")
        reason = read_text(input.reason, "reason", problems, max_length=500, required=True)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        assert reason is not None

        async def attempt() -> service.AdjustOutcome:
            async with info.context.uow() as uow:
                return await service.adjust_balance(
                    uow, customer_id=customer_id, kind=input.kind, amount=amount,
                    reason=reason, idempotency_key=key,
                )  # fmt: skip

        outcome = await with_retries(attempt)
        match outcome:
            case service.BalanceAdjusted(adjustment=done):
                adjustment = BalanceAdjustment(
                    id=gid(done.id), kind=done.kind, amount=money(done.amount, minor_units),
                    reason=done.reason, created_at=done.created_at, created_by_ref=done.created_by,
                )  # fmt: skip
                customer = Customer.of(outcome.customer, minor_units)
                return BalanceAdjusted(adjustment=adjustment, customer=customer)
            case service.WriteOffExceedsBalance():
                return WriteOffExceedsBalance(
                    message=outcome.message,
                    balance=money(outcome.balance, minor_units),
                    amount=money(outcome.amount, minor_units),
                )
            case Missing():
                return NotFound.of(outcome)
            case KeyReused():
                return IdempotencyKeyReused.of(outcome)
