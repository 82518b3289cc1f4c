"""``Customer.statement``: the ledger between two of the store's days, with its balances."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.domain.purchases import PaymentMethod
from app.graphql.context import Info
from app.graphql.reports import period_of
from app.graphql.scalars import Money, money
from app.services.sales_summary import store_time_zone
from app.services.statement import EntryKind, Statement, customer_statement

strawberry.enum(EntryKind, name="StatementEntryKind")


@strawberry.type
class StatementEntry:
    at: datetime
    kind: EntryKind
    amount: Money = strawberry.field(description="What it did to the balance: positive owes more.")
    balance: Money = strawberry.field(description="The balance after it.")
    bill_number: str | None = strawberry.field(description="The sale it belongs to, if any.")
    method: PaymentMethod | None
    reference: str | None = strawberry.field(
        description="A payment's reference, a return's or an adjustment's reason."
    )


@strawberry.type
class StatementTotals:
    debits: Money = strawberry.field(description="Sales and other entries that raised the balance.")
    credits: Money = strawberry.field(description="Payments and other entries that lowered it.")
    entries_count: int


@strawberry.type
class CustomerStatement:
    from_: date = strawberry.field(name="from")
    to: date
    opening_balance: Money
    entries: list[StatementEntry] = strawberry.field(description="In ledger order.")
    closing_balance: Money = strawberry.field(
        description="The next period's opening balance; `balance` for a period ending today."
    )
    totals: StatementTotals


def statement_of(found: Statement, minor_units: int) -> CustomerStatement:
    def m(minor: int) -> Money:
        return money(minor, minor_units)

    return CustomerStatement(
        from_=found.period.start,
        to=found.period.end,
        opening_balance=m(found.opening_balance),
        entries=[
            StatementEntry(
                at=entry.at,
                kind=entry.kind,
                amount=m(entry.amount),
                balance=m(entry.balance),
                bill_number=entry.bill_number,
                method=entry.method,
                reference=entry.reference,
            )
            for entry in found.entries
        ],
        closing_balance=m(found.closing_balance),
        totals=StatementTotals(
            debits=m(found.debits), credits=m(found.credits), entries_count=len(found.entries)
        ),
    )


async def resolve_statement(
    customer_id: int, info: Info, from_: date, to: date
) -> CustomerStatement:
    period = period_of(from_, to)
    units = info.context.uow
    found = await customer_statement(
        units, customer_id=customer_id, period=period, time_zone=await store_time_zone(units)
    )
    return statement_of(found, info.context.minor_units)
