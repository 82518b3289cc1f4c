"""``Customer.ledger(first, after)``: entries newest first, batched across customers.

``LedgerEntry`` keeps the ids of the order or payment an entry belongs to;
``order`` and ``payment`` resolve them through the per-request loaders, so a page
of entries costs one statement for its orders and one for its payments.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.dataloader import DataLoader

from app.domain.identity import CreatedBy
from app.graphql.actors import Actor, actor_field
from app.graphql.common import gid
from app.graphql.context import Context, Info
from app.graphql.loaders import order_by_id, payment_by_id, request_loader
from app.graphql.pagination import Connection, connection, decode_id, encode_cursor, page_size
from app.graphql.scalars import Money, money
from app.services import ledger as service
from app.services.ledger import LedgerEntryRecord

CURSOR_KIND = "ledger"

if TYPE_CHECKING:
    from app.graphql.orders import Order
    from app.graphql.payments import Payment


@strawberry.enum
class LedgerEntryKind(Enum):
    CHARGE = "charge"
    PAYMENT = "payment"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"
    RETURN = "return"


@strawberry.type(
    description="A change to a customer's balance: charges are positive, credits negative."
)
class LedgerEntry:
    id: strawberry.ID
    kind: LedgerEntryKind
    amount: Money
    balance_after: Money
    created_at: datetime
    order_id: strawberry.Private[int | None]
    payment_id: strawberry.Private[int | None]
    created_by_ref: strawberry.Private[CreatedBy]
    created_by: Actor | None = actor_field(lambda entry: entry.created_by_ref)

    @strawberry.field(description="The order this charge is for; null for other entries.")
    async def order(
        self, info: Info
    ) -> Annotated[Order, strawberry.lazy("app.graphql.orders")] | None:
        if self.order_id is None:
            return None
        from app.graphql.orders import Order  # noqa: PLC0415  (orders builds on customers)

        record = await order_by_id(info).load(self.order_id)
        return None if record is None else Order.of(record, info.context.minor_units)

    @strawberry.field(description="The payment this entry records; null for other entries.")
    async def payment(
        self, info: Info
    ) -> Annotated[Payment, strawberry.lazy("app.graphql.payments")] | None:
        if self.payment_id is None:
            return None
        from app.graphql.payments import Payment  # noqa: PLC0415

        record = await payment_by_id(info).load(self.payment_id)
        return None if record is None else Payment.of(record, info.context.minor_units)

    @classmethod
    def of(cls, record: LedgerEntryRecord, minor_units: int) -> LedgerEntry:
        return cls(
            id=gid(record.id),
            kind=LedgerEntryKind(record.kind),
            amount=money(record.amount, minor_units),
            balance_after=money(record.balance_after, minor_units),
            created_at=record.created_at,
            order_id=record.order_id,
            payment_id=record.payment_id,
            created_by_ref=record.created_by,
        )


LedgerKey = tuple[int, int, int | None]
"""(customer id, rows to read, read entries older than this id)."""


async def _load(context: Context, keys: list[LedgerKey]) -> list[list[LedgerEntryRecord]]:
    by_page: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for customer_id, limit, before_id in keys:
        by_page[(limit, before_id)].append(customer_id)
    found: dict[LedgerKey, list[LedgerEntryRecord]] = {}
    for (limit, before_id), customer_ids in by_page.items():
        pages = await service.ledger_pages(
            context.uow, customer_ids=customer_ids, limit=limit, before_id=before_id
        )
        found.update(((cid, limit, before_id), rows) for cid, rows in pages.items())
    return [found[key] for key in keys]


def _loader(info: Info) -> DataLoader[LedgerKey, list[LedgerEntryRecord]]:
    return request_loader(info, "ledger", _load)


async def ledger_page(
    info: Info, *, customer_id: int, first: int, after: str | None
) -> Connection[LedgerEntry]:
    limit = page_size(first)
    before_id = decode_id(after, CURSOR_KIND)
    rows = await _loader(info).load((customer_id, limit + 1, before_id))
    minor_units = info.context.minor_units
    return connection(
        rows,
        limit,
        cursor=lambda row: encode_cursor(CURSOR_KIND, row.id),
        node=lambda row: LedgerEntry.of(row, minor_units),
    )
