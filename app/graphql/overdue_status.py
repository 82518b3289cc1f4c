"""``Customer.overdue(asOf)``: batched per request, one statement per distinct ``asOf``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader

from app.domain import overdue as domain
from app.graphql.context import Context, Info
from app.graphql.loaders import request_loader
from app.graphql.scalars import Money, money
from app.services import overdue as service


@strawberry.type(
    description=(
        "A customer's overdue position at `asOf`, by first-in-first-out settlement: "
        "payments settle the oldest charges first, and a charge falls due "
        "`paymentTermsDays` x 24 hours after it was made."
    )
)
class OverdueStatus:
    as_of: datetime = strawberry.field(description="The instant this status describes.")
    balance: Money = strawberry.field(description="What the customer owed at `asOf`.")
    is_overdue: bool = strawberry.field(
        description="Something was owed and its due instant was strictly before `asOf`."
    )
    overdue_amount: Money = strawberry.field(
        description="The part of the balance made of charges past their due instant."
    )
    oldest_unpaid_at: datetime | None = strawberry.field(
        description="When the oldest charge not fully settled was made; null when nothing is owed."
    )
    days_overdue: int = strawberry.field(
        description=(
            "Whole days elapsed since the oldest unpaid charge fell due: 0 during the first "
            "24 hours after its due instant, 1 from exactly 24 hours after it, and so on; "
            "0 when not overdue."
        )
    )

    @classmethod
    def of(cls, status: domain.OverdueStatus, minor_units: int) -> OverdueStatus:
        return cls(
            as_of=status.as_of,
            balance=money(status.balance, minor_units),
            is_overdue=status.is_overdue,
            overdue_amount=money(status.overdue_amount, minor_units),
            oldest_unpaid_at=status.oldest_unpaid_at,
            days_overdue=status.days_overdue,
        )


OverdueKey = tuple[int, datetime | None]


async def _load(context: Context, keys: list[OverdueKey]) -> list[OverdueStatus | Exception]:
    by_as_of: dict[datetime | None, list[int]] = defaultdict(list)
    for customer_id, as_of in keys:
        by_as_of[as_of].append(customer_id)
    found: dict[OverdueKey, domain.OverdueStatus] = {}
    for as_of, customer_ids in by_as_of.items():
        statuses = await service.overdue_statuses(
            context.uow, customer_ids=customer_ids, as_of=as_of
        )
        found.update(((customer_id, as_of), s) for customer_id, s in statuses.items())
    minor_units = context.minor_units
    return [
        OverdueStatus.of(found[key], minor_units) if key in found else LookupError(key)
        for key in keys
    ]


def overdue_loader(info: Info) -> DataLoader[OverdueKey, OverdueStatus]:
    return request_loader(info, "overdue", _load)  # type: ignore[arg-type]
