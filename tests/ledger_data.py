"""Ledger history written directly as the database owner, with chosen (past) times.

The insert trigger still does all the bookkeeping (running totals, cached
balance, oldest unpaid charge); it only raises a ``created_at`` that is earlier
than the customer's previous entry, so histories are written in time order.
Charges get an order, payments a payment, reversals point at what they reverse,
returns get an ``order_returns`` row of the charge's order, adjustments a
``balance_adjustments`` row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.overdue import Entry


@dataclass(frozen=True)
class Posting:
    kind: str
    """'charge', 'payment', 'reversal', 'return' or 'adjustment'."""
    amount: int
    """Minor units; positive for charges, negative for payments and returns, either for
    reversals and adjustments."""
    at: datetime
    reverses: int | None = None
    """Index, in the same customer's postings, of the entry a reversal reverses, or of
    the charge whose order a return is of."""
    adjustment: str | None = None
    """An adjustment's kind: 'WRITE_OFF' or 'CORRECTION'."""


def charge(amount: int, at: datetime) -> Posting:
    return Posting("charge", amount, at)


def payment(amount: int, at: datetime) -> Posting:
    return Posting("payment", -amount, at)


async def _bind(connection: AsyncConnection, business_id: int) -> None:
    await connection.execute(
        text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
    )


async def add_customer(
    owner_db: AsyncEngine,
    business_id: int,
    *,
    name: str,
    phone: str | None = None,
    credit_limit: int = 0,
    terms_days: int | None = None,
) -> int:
    async with owner_db.begin() as connection:
        await _bind(connection, business_id)
        new_id = (
            await connection.execute(
                text(
                    "INSERT INTO customers (business_id, name, phone, credit_limit,"
                    " payment_terms_days) VALUES (:b, :name, :phone, :limit, :terms) RETURNING id"
                ),
                {
                    "b": business_id,
                    "name": name,
                    "phone": phone,
                    "limit": credit_limit,
                    "terms": terms_days,
                },
            )
        ).scalar_one()
    return int(new_id)


_POST = text(
    """
    WITH o AS (
        INSERT INTO orders (business_id, customer_id, total, created_at)
        SELECT :b, :c, :amount, :at WHERE :kind = 'charge' RETURNING id
    ), p AS (
        INSERT INTO payments (business_id, customer_id, amount, method, created_at)
        SELECT :b, :c, -:amount, 'CASH', :at WHERE :kind = 'payment' RETURNING id
    ), r AS (
        INSERT INTO order_returns (business_id, order_id, credit_amount, credited, refunded,
                                   created_at)
        SELECT :b, l.order_id, -:amount, -:amount, 0, :at FROM credit_ledger l
         WHERE :kind = 'return' AND l.business_id = :b AND l.id = CAST(:corrects AS bigint)
        RETURNING id
    ), a AS (
        INSERT INTO balance_adjustments (business_id, customer_id, kind, amount, reason,
                                         created_at)
        SELECT :b, :c, :adjustment, :amount, 'test', :at WHERE :kind = 'adjustment'
        RETURNING id
    )
    INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id, payment_id,
                               reverses_entry_id, return_id, adjustment_id, created_at)
    SELECT :b, :c, :kind, :amount, (SELECT id FROM o), (SELECT id FROM p),
           CASE WHEN :kind = 'reversal' THEN CAST(:corrects AS bigint) END,
           (SELECT id FROM r), (SELECT id FROM a), :at
    RETURNING id, amount, created_at
    """
)


async def post(
    owner_db: AsyncEngine, business_id: int, customer_id: int, postings: Sequence[Posting]
) -> list[Entry]:
    """Write ``postings`` in order; the entries as stored (times possibly raised)."""
    async with owner_db.begin() as connection:
        return await post_on(connection, business_id, customer_id, postings)


async def post_on(
    connection: AsyncConnection, business_id: int, customer_id: int, postings: Sequence[Posting]
) -> list[Entry]:
    """``post`` in the transaction of ``connection`` (the tenant bound for it)."""
    ids: list[int] = []
    entries: list[Entry] = []
    await _bind(connection, business_id)
    for posting in postings:
        corrects = None if posting.reverses is None else ids[posting.reverses]
        row = (
            await connection.execute(
                _POST,
                {
                    "b": business_id,
                    "c": customer_id,
                    "kind": posting.kind,
                    "amount": posting.amount,
                    "at": posting.at,
                    "reverses": corrects,
                    "corrects": corrects,
                    "adjustment": posting.adjustment,
                },
            )
        ).one()
        ids.append(row.id)
        entries.append(Entry(row.amount, row.created_at, id=row.id, corrects=corrects))
    return entries


_ENTRIES = text(
    """
    SELECT l.customer_id, l.id, l.amount, l.created_at,
           coalesce(l.reverses_entry_id, charge.id) AS corrects
      FROM credit_ledger l
      LEFT JOIN order_returns r ON r.business_id = l.business_id AND r.id = l.return_id
      LEFT JOIN credit_ledger charge
             ON charge.business_id = l.business_id AND charge.order_id = r.order_id
     WHERE l.business_id = :b
     ORDER BY l.customer_id, l.created_at, l.charged_total, l.credited_total
    """
)


async def ledger_entries(owner_db: AsyncEngine, business_id: int) -> dict[int, list[Entry]]:
    """Every customer's entries as ``app.domain.overdue`` reads them, corrections pointing
    at what they correct (a return at its order's charge)."""
    entries: dict[int, list[Entry]] = {}
    async with owner_db.connect() as connection:
        for row in await connection.execute(_ENTRIES, {"b": business_id}):
            entry = Entry(row.amount, row.created_at, id=row.id, corrects=row.corrects)
            entries.setdefault(row.customer_id, []).append(entry)
    return entries
