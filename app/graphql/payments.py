"""``recordPayment`` (one database round trip, answered from its result) and
``reversePayment`` (a bounced cheque: a reversal entry, the payment kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain import purchases as domain
from app.domain.results import Invalid, KeyReused, Missing, Problems
from app.graphql.actors import Actor, actor_field
from app.graphql.audited import audited
from app.graphql.common import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    gid,
    read_id,
    read_idempotency_key,
    read_money,
    read_text,
)
from app.graphql.context import Info
from app.graphql.customers import Customer
from app.graphql.permissions import OWNER, WRITE
from app.graphql.scalars import Money, money
from app.services import payments as service
from app.services import reversals
from app.services.retry import with_retries

# The domain's enum, registered as is: one list of methods for both layers.
strawberry.enum(domain.PaymentMethod, name="PaymentMethod")


@strawberry.type
class Payment:
    id: strawberry.ID
    amount: Money
    method: domain.PaymentMethod
    reference: str | None
    created_at: datetime
    reversed_at: datetime | None = strawberry.field(
        description="When the payment was reversed (a bounced cheque); null if it stands."
    )
    reversal_reason: str | None
    record: strawberry.Private[domain.PaymentRecord]
    created_by: Actor | None = actor_field(lambda payment: payment.record.created_by)
    reversed_by: Actor | None = actor_field(
        lambda payment: payment.record.reversed_by,
        "Who reversed it; null if it stands (or was reversed before attribution).",
    )

    @classmethod
    def of(cls, record: domain.PaymentRecord, minor_units: int) -> Payment:
        return cls(
            id=gid(record.id),
            amount=money(record.amount, minor_units),
            method=record.method,
            reference=record.reference,
            created_at=record.created_at,
            reversed_at=record.reversed_at,
            reversal_reason=record.reversal_reason,
            record=record,
        )


@strawberry.type
class PaymentRecorded:
    payment: Payment
    customer: Customer = strawberry.field(description="The customer just after this payment.")


@strawberry.type
class PaymentExceedsBalance:
    message: str
    balance: Money
    amount: Money


RecordPaymentResult = Annotated[
    PaymentRecorded | PaymentExceedsBalance | NotFound | InvalidInput | IdempotencyKeyReused,
    strawberry.union("RecordPaymentResult"),
]


@strawberry.type
class PaymentReversed:
    payment: Payment
    customer: Customer = strawberry.field(description="The customer just after the reversal.")


@strawberry.type
class AlreadyReversed:
    message: str
    payment_id: strawberry.ID
    reversed_at: datetime


ReversePaymentResult = Annotated[
    PaymentReversed | NotFound | AlreadyReversed | InvalidInput | IdempotencyKeyReused,
    strawberry.union("ReversePaymentResult"),
]


@strawberry.input
class ReversePaymentInput:
    payment_id: strawberry.ID
    reason: str = strawberry.field(description="Why, 1 to 500 characters.")
    idempotency_key: str


@strawberry.input
class RecordPaymentInput:
    customer_id: strawberry.ID
    amount: Money
    method: domain.PaymentMethod
    idempotency_key: str = strawberry.field(
        description="Retrying with the same key and request returns the original result."
    )
    reference: str | None = None


def _result(outcome: service.PaymentOutcome, minor_units: int) -> RecordPaymentResult:
    match outcome:
        case domain.PaymentTaken():
            return PaymentRecorded(
                payment=Payment.of(outcome.payment, minor_units),
                customer=Customer.of(outcome.customer, minor_units),
            )
        case domain.PaymentExceedsBalance():
            return PaymentExceedsBalance(
                message=outcome.message,
                balance=money(outcome.balance, minor_units),
                amount=money(outcome.amount, minor_units),
            )
        case Missing():
            return NotFound.of(outcome)
        case KeyReused():
            return IdempotencyKeyReused.of(outcome)


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(permission_classes=WRITE)
    @audited("Payment")
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> RecordPaymentResult:
        problems = Problems()
        minor_units = info.context.minor_units
        customer_id = read_id(input.customer_id, "customerId", problems)
        amount = read_money(input.amount, "amount", problems, minor_units, positive=True)
        reference = read_text(
            input.reference, "reference", problems, max_length=200, required=False
        )
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        outcome = await service.record_payment(
            info.context.uow,
            customer_id=customer_id,
            amount=amount,
            method=input.method,
            reference=reference,
            idempotency_key=key,
        )
        return _result(outcome, minor_units)

    @strawberry.mutation(permission_classes=OWNER)
    @audited("Payment", by="paymentId")
    async def reverse_payment(self, info: Info, input: ReversePaymentInput) -> ReversePaymentResult:
        problems = Problems()
        payment_id = read_id(input.payment_id, "paymentId", problems)
        reason = read_text(input.reason, "reason", problems, max_length=500, required=True)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        assert reason is not None

        async def attempt() -> reversals.ReverseOutcome:
            async with info.context.uow() as uow:
                return await reversals.reverse_payment(
                    uow, payment_id=payment_id, reason=reason, idempotency_key=key
                )

        outcome = await with_retries(attempt)
        minor_units = info.context.minor_units
        match outcome:
            case reversals.PaymentReversed():
                return PaymentReversed(
                    payment=Payment.of(outcome.payment, minor_units),
                    customer=Customer.of(outcome.customer, minor_units),
                )
            case reversals.AlreadyReversed():
                return AlreadyReversed(
                    message=outcome.message,
                    payment_id=gid(outcome.payment_id),
                    reversed_at=outcome.reversed_at,
                )
            case Missing():
                return NotFound.of(outcome)
            case Invalid():
                return InvalidInput.of(outcome)
            case KeyReused():
                return IdempotencyKeyReused.of(outcome)
