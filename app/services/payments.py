"""Record a payment: one call to the ``record_payment`` database function.

Like a purchase it is one round trip: the function binds the tenant, locks the
customer (the only row it locks), checks the idempotency key, refuses a payment
larger than the balance, and writes the payment, its negative ledger entry and
the idempotency record.  Round trips made while the row lock is held: 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from app import metrics
from app.domain.identity import CreatedBy
from app.domain.purchases import PaymentExceedsBalance, PaymentMethod, PaymentRecord, PaymentTaken
from app.domain.results import KeyReused, Missing
from app.services.audit_entries import AnswerAudit
from app.services.call_results import (
    created_by_from_json,
    customer_from_json,
    instant,
    missing_from_json,
)
from app.services.idempotency import request_hash
from app.services.reads import ReadQuery, by_order
from app.services.unit_of_work import TENANT, DriverStatement, UnitOfWork, UnitsOfWork

OPERATION = "recordPayment"

PaymentOutcome = PaymentTaken | PaymentExceedsBalance | Missing | KeyReused

_RECORD = DriverStatement(
    "SELECT record_payment(:business_id, :customer_id, :amount, :method, :reference, :key, :hash,"
    " :actor_user_id, :actor_key_id)"
)

AUDIT = AnswerAudit(
    target_type="Payment",
    target_path=("payment", "id"),
    outcomes={
        "recorded": "PaymentRecorded", "payment_exceeds_balance": "PaymentExceedsBalance",
        "not_found": "NotFound", "key_reused": "IdempotencyKeyReused",
    },
)  # fmt: skip


async def record_payment(
    units: UnitsOfWork,
    *,
    customer_id: int,
    amount: int,
    method: PaymentMethod,
    reference: str | None,
    idempotency_key: str,
) -> PaymentOutcome:
    hash_ = request_hash(
        OPERATION,
        {
            "customerId": customer_id,
            "amount": amount,
            "method": method.value,
            "reference": reference,
        },
    )
    answer = await units.call(
        _RECORD,
        {
            "customer_id": customer_id,
            "amount": amount,
            "method": method.value,
            "reference": reference,
            "key": idempotency_key,
            "hash": hash_,
        },
        AUDIT,
    )
    result = outcome_from_json(answer, idempotency_key)
    metrics.outcome(metrics.PAYMENTS, result)
    return result


def payment_from_json(raw: dict[str, Any]) -> PaymentRecord:
    customer_id = raw["customerId"]
    return PaymentRecord(
        id=int(raw["id"]),
        customer_id=None if customer_id is None else int(customer_id),
        amount=int(raw["amount"]),
        method=PaymentMethod(raw["method"]),
        reference=raw["reference"],
        created_at=instant(raw["createdAt"]),
        created_by=created_by_from_json(raw),
    )


def outcome_from_json(answer: dict[str, Any], idempotency_key: str) -> PaymentOutcome:
    result = answer["result"]
    if result == "recorded":
        return PaymentTaken(
            payment=payment_from_json(answer["payment"]),
            customer=customer_from_json(answer["customer"]),
            replayed=bool(answer.get("replayed")),
        )
    if result == "payment_exceeds_balance":
        return PaymentExceedsBalance(balance=int(answer["balance"]), amount=int(answer["amount"]))
    if result == "not_found":
        return missing_from_json(answer)
    if result == "key_reused":
        return KeyReused(idempotency_key)
    raise ValueError(f"unexpected payment result {result!r}")


_FROM = (
    "SELECT p.id, p.customer_id, p.order_id, p.amount, p.method, p.reference, p.created_at,"
    " p.created_by_user_id, p.created_by_key_id, r.created_at AS reversed_at,"
    " r.reason AS reversal_reason, r.created_by_user_id AS reversed_by_user_id,"
    " r.created_by_key_id AS reversed_by_key_id FROM payments p"
    f" LEFT JOIN payment_reversals r ON r.business_id = {TENANT} AND r.payment_id = p.id"
)
_BY_IDS_SQL = f"{_FROM} WHERE p.business_id = {TENANT} AND p.id = ANY(:ids)"
_BY_IDS = text(_BY_IDS_SQL)
_READ_BY_IDS = ReadQuery(_BY_IDS_SQL)
_BY_ORDERS_SQL = f"{_FROM} WHERE p.business_id = {TENANT} AND p.order_id = ANY(:ids) ORDER BY p.id"
_BY_ORDERS = text(_BY_ORDERS_SQL)
_READ_BY_ORDERS = ReadQuery(_BY_ORDERS_SQL)


def _payment(row: Any) -> PaymentRecord:
    """From a row read by column name: the driver's record or a SQLAlchemy row's mapping."""
    return PaymentRecord(
        id=row["id"],
        customer_id=row["customer_id"],
        amount=row["amount"],
        method=PaymentMethod(row["method"]),
        reference=row["reference"],
        created_at=row["created_at"],
        reversed_at=row["reversed_at"],
        reversal_reason=row["reversal_reason"],
        created_by=CreatedBy(row["created_by_user_id"], row["created_by_key_id"]),
        reversed_by=CreatedBy(row["reversed_by_user_id"], row["reversed_by_key_id"]),
    )


async def get_payments(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, PaymentRecord]:
    """Inside a transaction: a reversal reads the payment it locked, and then reversed."""
    rows = await uow.execute(_BY_IDS, {"ids": list(ids)})
    return {row.id: _payment(row._mapping) for row in rows}


async def read_payments(units: UnitsOfWork, ids: Sequence[int]) -> dict[int, PaymentRecord]:
    """Outside any transaction: one statement on the driver pool (``UnitsOfWork.read``)."""
    rows = await _READ_BY_IDS.fetch(units, {"ids": list(ids)})
    return {row["id"]: _payment(row) for row in rows}


async def order_payments(
    uow: UnitOfWork, order_ids: Sequence[int]
) -> dict[int, tuple[PaymentRecord, ...]]:
    """The payments made at the counter with each order, in the order they were made."""
    rows = await uow.execute(_BY_ORDERS, {"ids": list(order_ids)})
    return by_order((row._mapping for row in rows), order_ids, _payment)


async def read_order_payments(
    units: UnitsOfWork, order_ids: Sequence[int]
) -> dict[int, tuple[PaymentRecord, ...]]:
    """``order_payments`` in one statement on the driver pool."""
    rows = await _READ_BY_ORDERS.fetch(units, {"ids": list(order_ids)})
    return by_order(rows, order_ids, _payment)
