"""A customer's statement: the ledger between two of the store's days, with its balances.

The ledger is the truth (DESIGN.md section 3): every entry stores the balance after
it, so the opening balance is the last entry's before the period, each line's
running balance is its own ``balance_after``, and the closing balance is the last
line's (or the opening one).  The closing balance of one period is therefore the
opening of the next, and, for a period ending today or later, the customer's
``balance``.  A customer's entries are in ledger order by ``created_at`` and then
their running totals, which only grow (``app.services.as_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache

from app.domain.purchases import PaymentMethod
from app.domain.reports import Period
from app.services import bills
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork


class EntryKind(Enum):
    SALE = "SALE"
    PAYMENT = "PAYMENT"
    RETURN = "RETURN"
    VOID = "VOID"
    """A sale's charge or its counter payment taken back by a void."""
    PAYMENT_REVERSED = "PAYMENT_REVERSED"
    ADJUSTMENT = "ADJUSTMENT"


@dataclass(frozen=True)
class StatementEntry:
    at: datetime
    kind: EntryKind
    amount: int
    """What it did to the balance: positive owes more."""
    balance: int
    bill_number: str | None
    method: PaymentMethod | None
    reference: str | None
    """A payment's reference, a return's or adjustment's reason."""


@dataclass(frozen=True)
class Statement:
    period: Period
    opening_balance: int
    entries: list[StatementEntry]
    closing_balance: int

    @property
    def debits(self) -> int:
        return sum(entry.amount for entry in self.entries if entry.amount > 0)

    @property
    def credits(self) -> int:
        return -sum(entry.amount for entry in self.entries if entry.amount < 0)


@cache
def _statement() -> ReadQuery:
    same = "business_id = l.business_id AND"
    return ReadQuery(
        f"""
        WITH z AS MATERIALIZED (
            SELECT CAST(:lo AS timestamptz) AS lo, CAST(:hi AS timestamptz) AS hi
        )
        SELECT CAST(NULL AS timestamptz) AS at, 'opening' AS kind, CAST(0 AS bigint) AS amount,
               coalesce((
                   SELECT l.balance_after FROM credit_ledger l
                    WHERE l.business_id = {TENANT} AND l.customer_id = :customer_id
                      AND l.created_at < z.lo
                    ORDER BY l.created_at DESC, l.charged_total DESC, l.credited_total DESC
                    LIMIT 1), 0) AS balance,
               CAST(NULL AS text) AS bill, CAST(NULL AS text) AS method,
               CAST(NULL AS text) AS reference, CAST(NULL AS text) AS reversed_kind,
               false AS voided, CAST(0 AS bigint) AS charged, CAST(0 AS bigint) AS credited
          FROM z
        UNION ALL
        SELECT l.created_at, l.kind, l.amount, l.balance_after,
               bn.number,
               coalesce(p.method, rp.method),
               coalesce(p.reference, rp.reference, ret.reason, a.reason),
               r.kind, rv.order_id IS NOT NULL, l.charged_total, l.credited_total
          FROM z, credit_ledger l
          LEFT JOIN orders o ON o.{same} o.id = l.order_id
          LEFT JOIN payments p ON p.{same} p.id = l.payment_id
          LEFT JOIN orders po ON po.{same} po.id = p.order_id
          LEFT JOIN credit_ledger r ON r.{same} r.id = l.reverses_entry_id
          LEFT JOIN orders ro ON ro.{same} ro.id = r.order_id
          LEFT JOIN payments rp ON rp.{same} rp.id = r.payment_id
          LEFT JOIN orders rpo ON rpo.{same} rpo.id = rp.order_id
          LEFT JOIN order_voids rv ON rv.{same} rv.order_id = coalesce(r.order_id, rp.order_id)
          LEFT JOIN order_returns ret ON ret.{same} ret.id = l.return_id
          LEFT JOIN orders rto ON rto.{same} rto.id = ret.order_id
          LEFT JOIN balance_adjustments a ON a.{same} a.id = l.adjustment_id
          LEFT JOIN bill_numbers bn
            ON bn.{same} bn.order_id = coalesce(o.id, po.id, ro.id, rpo.id, rto.id)
         WHERE l.business_id = {TENANT} AND l.customer_id = :customer_id
           AND l.created_at >= z.lo AND l.created_at < z.hi
         ORDER BY at NULLS FIRST, charged, credited
        """
    )


def _kind(ledger_kind: str, reversed_kind: str | None, voided: bool) -> EntryKind:
    if ledger_kind == "charge":
        return EntryKind.SALE
    if ledger_kind == "payment":
        return EntryKind.PAYMENT
    if ledger_kind == "return":
        return EntryKind.RETURN
    if ledger_kind == "adjustment":
        return EntryKind.ADJUSTMENT
    # A reversal: of a charge (a void), or of a payment (a void's refund, or a bounce).
    if reversed_kind == "charge" or voided:
        return EntryKind.VOID
    return EntryKind.PAYMENT_REVERSED


async def customer_statement(
    units: UnitsOfWork, *, customer_id: int, period: Period, time_zone: str
) -> Statement:
    lo, hi = period.instants(time_zone)
    # Sales answered a moment ago may still wait for their numbers (app.services.bills):
    # a statement shows every sale's bill number.
    await bills.number_waiting(units)
    rows = await _statement().fetch(units, {"lo": lo, "hi": hi, "customer_id": customer_id})
    opening, lines = rows[0], rows[1:]
    entries = [
        StatementEntry(
            at=row["at"],
            kind=_kind(row["kind"], row["reversed_kind"], bool(row["voided"])),
            amount=row["amount"],
            balance=row["balance"],
            bill_number=row["bill"],
            method=None if row["method"] is None else PaymentMethod(row["method"]),
            reference=row["reference"],
        )
        for row in lines
    ]
    closing = entries[-1].balance if entries else opening["balance"]
    return Statement(period, opening["balance"], entries, closing)
