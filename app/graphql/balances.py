"""``balances(customerIds)``: many customers' balances in one statement.

Answers one entry per id asked, in the order asked.  An id that is malformed,
unknown, or another business's is answered with null: from the caller's side
those are indistinguishable, which is the point.
"""

from __future__ import annotations

import strawberry

from app.domain.ids import parse_id
from app.graphql.common import gid
from app.graphql.context import Info
from app.graphql.pagination import MAX_PAGE_SIZE, bad_input
from app.graphql.permissions import READ
from app.graphql.scalars import Money, money
from app.services import listing


@strawberry.type
class CustomerBalance:
    customer_id: strawberry.ID
    balance: Money
    credit_limit: Money
    available_credit: Money = strawberry.field(
        description="Credit limit minus balance, never below zero."
    )


@strawberry.type
class BalanceQueries:
    @strawberry.field(
        permission_classes=READ,
        description=(
            f"Balances of up to {MAX_PAGE_SIZE} customers, in the order asked; "
            "null for an id that is not one of this business's customers."
        ),
    )
    async def balances(
        self, info: Info, customer_ids: list[strawberry.ID]
    ) -> list[CustomerBalance | None]:
        if len(customer_ids) > MAX_PAGE_SIZE:
            raise bad_input("customerIds", f"must list at most {MAX_PAGE_SIZE} ids")
        ids = [parse_id(raw) for raw in customer_ids]
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return [None] * len(ids)
        found = await listing.balances(info.context.uow, customer_ids=wanted)
        minor_units = info.context.minor_units
        answers = {
            b.customer_id: CustomerBalance(
                customer_id=gid(b.customer_id),
                balance=money(b.balance, minor_units),
                credit_limit=money(b.credit_limit, minor_units),
                available_credit=money(b.available_credit, minor_units),
            )
            for b in found.values()
        }
        return [None if i is None else answers.get(i) for i in ids]
