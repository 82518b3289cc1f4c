"""Reversing a payment (a bounced cheque): a new ledger entry, never an edit.

The payment stays; a ``payment_reversals`` row says why and when, and a ledger
entry of kind ``reversal`` points at the payment's entry for the same amount the
other way, so the customer owes it again, even past the credit limit (then
``over_limit``, and new credit purchases are refused until the balance is back
under it).  The customer row is locked first, as a purchase or a payment does,
then the key: a purchase racing the reversal is decided either before it or
after it, never on a balance in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from app.domain.purchases import PaymentRecord
from app.domain.records import CustomerRecord
from app.domain.results import Invalid, KeyReused, Missing
from app.services import idempotency
from app.services.customers import get_customer
from app.services.payments import get_payments
from app.services.unit_of_work import ACTOR, CREATED_BY, TENANT, UnitOfWork

OPERATION = "reversePayment"


@dataclass(frozen=True)
class PaymentReversed:
    payment: PaymentRecord
    customer: CustomerRecord


@dataclass(frozen=True)
class AlreadyReversed:
    payment_id: int
    reversed_at: datetime
    message: str = "This payment was already reversed."


ReverseOutcome = PaymentReversed | Missing | AlreadyReversed | Invalid | KeyReused

_LOCK_CUSTOMER = text(
    f"SELECT id FROM customers WHERE business_id = {TENANT} AND id = :id FOR UPDATE"
)
_ENTRY = text(
    f"SELECT l.id, r.created_at AS reversed_at FROM credit_ledger l"
    f" LEFT JOIN credit_ledger r ON r.business_id = {TENANT} AND r.reverses_entry_id = l.id"
    f" WHERE l.business_id = {TENANT} AND l.payment_id = :payment_id"
)
_REVERSE = text(
    f"INSERT INTO credit_ledger (business_id, customer_id, kind, amount, reverses_entry_id,"
    f" {CREATED_BY}) VALUES ({TENANT}, :customer_id, 'reversal', :amount, :entry_id, {ACTOR})"
    f" RETURNING created_at"
)
# Stamped with its ledger entry's instant: one moment for the reversal, however read.
_RECORD = text(
    f"INSERT INTO payment_reversals (business_id, payment_id, customer_id, reason, created_at,"
    f" {CREATED_BY}) VALUES ({TENANT}, :payment_id, :customer_id, :reason, :created_at, {ACTOR})"
)


async def reverse_payment(
    uow: UnitOfWork, *, payment_id: int, reason: str, idempotency_key: str
) -> ReverseOutcome:
    hash_ = idempotency.request_hash(OPERATION, {"paymentId": payment_id, "reason": reason})
    # A payment never changes, so reading it before any lock is safe.
    payment = (await get_payments(uow, [payment_id])).get(payment_id)
    if payment is None:
        return Missing("Payment", str(payment_id))
    if payment.customer_id is None:
        return Invalid.one("paymentId", "a walk-in sale's payment has no customer to owe it")
    await uow.execute(_LOCK_CUSTOMER, {"id": payment.customer_id})
    earlier = await idempotency.recall(uow, key=idempotency_key, operation=OPERATION, hash_=hash_)
    if isinstance(earlier, KeyReused):
        return earlier
    if earlier is None:
        entry = (await uow.execute(_ENTRY, {"payment_id": payment_id})).one()
        if entry.reversed_at is not None:
            return AlreadyReversed(payment_id, entry.reversed_at)
        params = {"payment_id": payment_id, "customer_id": payment.customer_id}
        reversed_at = (
            await uow.execute(_REVERSE, {**params, "amount": payment.amount, "entry_id": entry.id})
        ).scalar_one()
        await uow.execute(_RECORD, {**params, "reason": reason, "created_at": reversed_at})
        await idempotency.remember(
            uow, key=idempotency_key, operation=OPERATION, hash_=hash_,
            response={"paymentId": payment_id},
        )  # fmt: skip
    reversed_ = (await get_payments(uow, [payment_id]))[payment_id]
    customer = await get_customer(uow, payment.customer_id)
    assert customer is not None
    await uow.commit()
    return PaymentReversed(reversed_, customer)
