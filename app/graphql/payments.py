"""The ``recordPayment`` mutation: one database round trip, answered from its result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain import purchases as domain
from app.domain.results import KeyReused, Missing, Problems
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
from app.graphql.permissions import WRITE
from app.graphql.scalars import Money, money
from app.services import payments as service

# The domain's enum, registered as is: one list of methods for both layers.
strawberry.enum(domain.PaymentMethod, name="PaymentMethod")


@strawberry.type
class Payment:
    id: strawberry.ID
    amount: Money
    method: domain.PaymentMethod
    reference: str | None
    created_at: datetime

    @classmethod
    def of(cls, record: domain.PaymentRecord, minor_units: int) -> Payment:
        return cls(
            id=gid(record.id),
            amount=money(record.amount, minor_units),
            method=record.method,
            reference=record.reference,
            created_at=record.created_at,
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
