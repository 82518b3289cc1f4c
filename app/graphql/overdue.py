"""``overdueCustomers`` and ``agingReport``: who is late, and by how much.

The arithmetic and its boundaries are in ``app.domain.overdue``; the statements
in ``app.services.overdue``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.overdue import AGING_BUCKETS
from app.graphql.context import Info
from app.graphql.customers import Customer
from app.graphql.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    bad_input,
    connection,
    decode_instant_id,
    encode_cursor,
    page_size,
)
from app.graphql.permissions import READ
from app.graphql.scalars import Money, money
from app.services import overdue as service

CURSOR_KIND = "overdue"
MAX_DAYS = 36_500


@strawberry.type
class OverdueCustomer:
    customer: Customer = strawberry.field(description="The customer as they are now.")
    balance: Money = strawberry.field(description="What the customer owed at `asOf`.")
    overdue_amount: Money
    oldest_unpaid_at: datetime
    days_overdue: int


@strawberry.type
class AgingBucket:
    label: str = strawberry.field(description='"current", "1-30", "31-60", "61-90", "over 90".')
    from_days: int = strawberry.field(
        description=(
            "Fewest whole days past due in this bucket.  `current` holds what is not yet "
            "due; `1-30` starts at 0: it also holds what fell due less than 24 hours ago."
        )
    )
    to_days: int | None = strawberry.field(
        description="Most whole days past due in this bucket; null for the last one."
    )
    amount: Money = strawberry.field(
        description="Unsettled parts of charges in this bucket at `asOf`."
    )
    customer_count: int = strawberry.field(
        description="Customers with something in this bucket; one may be in several buckets."
    )


@strawberry.type(
    description=(
        "What the business is owed at `asOf`, by whole days past due of each unsettled part of a "
        "charge (payments settle the oldest charges first).  Bucket amounts add up to `total`."
    )
)
class AgingReport:
    as_of: datetime
    total: Money = strawberry.field(description="Sum of all positive balances at `asOf`.")
    customer_count: int = strawberry.field(description="Customers owing something at `asOf`.")
    buckets: list[AgingBucket]


def _min_days(raw: int) -> int:
    if not 0 <= raw <= MAX_DAYS:
        raise bad_input("minDaysOverdue", f"must be between 0 and {MAX_DAYS}")
    return raw


@strawberry.type
class OverdueQueries:
    @strawberry.field(
        permission_classes=READ,
        description=(
            "Customers overdue at `asOf` (default: now) by at least `minDaysOverdue` whole "
            "days (0, the default, lists every overdue customer, also those less than a day "
            "past due), most overdue first: by the due instant of their oldest unpaid "
            "charge, then id."
        ),
    )
    async def overdue_customers(
        self,
        info: Info,
        as_of: datetime | None = None,
        min_days_overdue: int = 0,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[OverdueCustomer]:
        limit = page_size(first)
        min_days = _min_days(min_days_overdue)
        key = decode_instant_id(after, CURSOR_KIND)
        rows = await service.overdue_customers(
            info.context.uow, as_of=as_of, min_days=min_days, limit=limit + 1, after=key
        )
        minor_units = info.context.minor_units

        def node(row: service.OverdueCustomer) -> OverdueCustomer:
            status = row.status
            assert status.oldest_unpaid_at is not None
            return OverdueCustomer(
                customer=Customer.of(row.customer, minor_units),
                balance=money(status.balance, minor_units),
                overdue_amount=money(status.overdue_amount, minor_units),
                oldest_unpaid_at=status.oldest_unpaid_at,
                days_overdue=status.days_overdue,
            )

        return connection(
            rows,
            limit,
            cursor=lambda row: encode_cursor(CURSOR_KIND, row.due_at, row.customer.id),
            node=node,
        )

    @strawberry.field(permission_classes=READ)
    async def aging_report(self, info: Info, as_of: datetime | None = None) -> AgingReport:
        totals = await service.aging_report(info.context.uow, as_of=as_of)
        minor_units = info.context.minor_units
        return AgingReport(
            as_of=totals.as_of,
            total=money(totals.total, minor_units),
            customer_count=totals.customers_owing,
            buckets=[
                AgingBucket(
                    label=bucket.label,
                    from_days=bucket.from_days,
                    to_days=bucket.to_days,
                    amount=money(amount, minor_units),
                    customer_count=count,
                )
                for bucket, amount, count in zip(
                    AGING_BUCKETS, totals.amounts, totals.customer_counts, strict=True
                )
            ],
        )
