"""Adjusting a balance by hand: a write-off or a correction, a new ledger entry.

A write-off forgives part of what is owed and never takes the balance below zero;
it is a credit, so it settles the oldest charges first, like a payment.  A
correction may go either way.  Each is a ``balance_adjustments`` row with its
reason and a ledger entry of kind ``adjustment`` pointing at it.  The customer row
is locked first, then the key, as a payment does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import text

from app.domain.identity import NOBODY, CreatedBy
from app.domain.records import CustomerRecord
from app.domain.results import KeyReused, Missing
from app.services import idempotency
from app.services.customers import get_customer
from app.services.unit_of_work import ACTOR, CREATED_BY, TENANT, UnitOfWork

OPERATION = "adjustBalance"


class AdjustmentKind(Enum):
    WRITE_OFF = "WRITE_OFF"
    CORRECTION = "CORRECTION"


@dataclass(frozen=True)
class AdjustmentRecord:
    id: int
    kind: AdjustmentKind
    amount: int
    """What it did to the balance: negative lowered it."""
    reason: str
    created_at: datetime
    created_by: CreatedBy = NOBODY


@dataclass(frozen=True)
class BalanceAdjusted:
    adjustment: AdjustmentRecord
    customer: CustomerRecord


@dataclass(frozen=True)
class WriteOffExceedsBalance:
    balance: int
    amount: int
    message: str = "A write-off may not exceed what the customer owes."


AdjustOutcome = BalanceAdjusted | WriteOffExceedsBalance | Missing | KeyReused

_LOCK = text(f"SELECT balance FROM customers WHERE business_id = {TENANT} AND id = :id FOR UPDATE")
_INSERT = text(
    f"INSERT INTO balance_adjustments (business_id, customer_id, kind, amount, reason,"
    f" {CREATED_BY}) VALUES ({TENANT}, :customer_id, :kind, :amount, :reason, {ACTOR})"
    f" RETURNING id"
)
_ENTRY = text(
    f"INSERT INTO credit_ledger (business_id, customer_id, kind, amount, adjustment_id,"
    f" {CREATED_BY}) VALUES ({TENANT}, :customer_id, 'adjustment', :amount, :adjustment_id,"
    f" {ACTOR})"
)
_READ = text(
    f"SELECT id, kind, amount, reason, created_at, created_by_user_id, created_by_key_id"
    f" FROM balance_adjustments"
    f" WHERE business_id = {TENANT} AND id = :id"
)


async def adjust_balance(
    uow: UnitOfWork,
    *,
    customer_id: int,
    kind: AdjustmentKind,
    amount: int,
    reason: str,
    idempotency_key: str,
) -> AdjustOutcome:
    """``amount``: for a write-off, what is forgiven (positive); for a correction, the
    change to what is owed (positive: owes more)."""
    request = {"customerId": customer_id, "kind": kind.value, "amount": amount, "reason": reason}
    hash_ = idempotency.request_hash(OPERATION, request)
    balance = (await uow.execute(_LOCK, {"id": customer_id})).scalar_one_or_none()
    if balance is None:
        return Missing("Customer", str(customer_id))
    earlier = await idempotency.recall(uow, key=idempotency_key, operation=OPERATION, hash_=hash_)
    if isinstance(earlier, KeyReused):
        return earlier
    if isinstance(earlier, idempotency.Replay):
        adjustment_id = int(earlier.response["adjustmentId"])
    else:
        change = -amount if kind is AdjustmentKind.WRITE_OFF else amount
        if kind is AdjustmentKind.WRITE_OFF and amount > balance:
            return WriteOffExceedsBalance(balance=balance, amount=amount)
        params = {"customer_id": customer_id, "amount": change}
        adjustment_id = (
            await uow.execute(_INSERT, {**params, "kind": kind.value, "reason": reason})
        ).scalar_one()
        await uow.execute(_ENTRY, {**params, "adjustment_id": adjustment_id})
        await idempotency.remember(
            uow, key=idempotency_key, operation=OPERATION, hash_=hash_,
            response={"adjustmentId": adjustment_id},
        )  # fmt: skip
    row = (await uow.execute(_READ, {"id": adjustment_id})).one()
    customer = await get_customer(uow, customer_id)
    assert customer is not None
    await uow.commit()
    adjustment = AdjustmentRecord(
        row.id, AdjustmentKind(row.kind), row.amount, row.reason, row.created_at,
        CreatedBy(row.created_by_user_id, row.created_by_key_id),
    )  # fmt: skip
    return BalanceAdjusted(adjustment, customer)
