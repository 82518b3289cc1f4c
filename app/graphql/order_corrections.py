"""What became of an order: ``Order.status``, its void, its returns and refunds.

Read through one per-request loader (``app.services.order_corrections``), so a
page of orders asking for any of them costs one batch.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.purchases import PaymentMethod
from app.graphql.actors import Actor, actor_field
from app.graphql.common import gid
from app.graphql.context import Info
from app.graphql.loaders import corrections_by_order
from app.graphql.scalars import Money, money
from app.services import order_corrections as service

# The service's enum, registered as is: one list of statuses for both layers.
strawberry.enum(service.OrderStatus, name="OrderStatus")


@strawberry.type
class Refund:
    id: strawberry.ID
    amount: Money
    method: PaymentMethod
    created_at: datetime
    record: strawberry.Private[service.RefundRecord]
    created_by: Actor | None = actor_field(lambda refund: refund.record.created_by)

    @classmethod
    def of(cls, record: service.RefundRecord, minor_units: int) -> Refund:
        return cls(
            id=gid(record.id),
            amount=money(record.amount, minor_units),
            method=record.method,
            created_at=record.created_at,
            record=record,
        )


@strawberry.type
class ReturnedItem:
    product_id: strawberry.ID
    quantity: int
    amount: Money = strawberry.field(description="The credit for these units.")


@strawberry.type
class OrderReturn:
    id: strawberry.ID
    credit_amount: Money = strawberry.field(
        description="The credit note: what the customer paid for these units, their share"
        " of line and bill discounts and their tax included."
    )
    credited: Money = strawberry.field(description="The part that lowered the balance.")
    refunded: Money = strawberry.field(description="The part paid back by `refundMethod`.")
    refund_method: PaymentMethod | None
    reason: str | None
    created_at: datetime
    items: list[ReturnedItem]
    record: strawberry.Private[service.OrderReturnRecord]
    created_by: Actor | None = actor_field(lambda returned: returned.record.created_by)

    @classmethod
    def of(cls, record: service.OrderReturnRecord, minor_units: int) -> OrderReturn:
        return cls(
            id=gid(record.id),
            credit_amount=money(record.credit_amount, minor_units),
            credited=money(record.credited, minor_units),
            refunded=money(record.refunded, minor_units),
            refund_method=record.refund_method,
            reason=record.reason,
            created_at=record.created_at,
            items=[
                ReturnedItem(
                    product_id=gid(item.product_id),
                    quantity=item.quantity,
                    amount=money(item.amount, minor_units),
                )
                for item in record.items
            ],
            record=record,
        )


async def corrections(info: Info, order_id: int) -> service.OrderCorrections:
    found = await corrections_by_order(info).load(order_id)
    return found or service.OrderCorrections()
