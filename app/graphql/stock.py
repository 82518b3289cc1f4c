"""The ``adjustStock`` mutation: damage, loss, a count, other, recorded as a movement."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain.purchases import InsufficientStock as Short
from app.domain.results import Invalid, KeyReused, Missing, Problems
from app.graphql.actors import Actor, actor_field
from app.graphql.audited import audited
from app.graphql.catalog import Product
from app.graphql.common import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    gid,
    read_id,
    read_idempotency_key,
    read_text,
)
from app.graphql.context import Info
from app.graphql.orders import InsufficientStock, insufficient_stock
from app.graphql.permissions import STOCK
from app.services import stock as service
from app.services.catalog import MAX_STOCK
from app.services.retry import with_retries

strawberry.enum(service.AdjustmentReason, name="StockAdjustmentReason")


@strawberry.type
class StockMovement:
    id: strawberry.ID
    kind: str = strawberry.field(
        description="initial, restock, sale, return, adjustment or reversal."
    )
    quantity: int = strawberry.field(description="Units in (positive) or out (negative).")
    stock_before: int
    stock_after: int
    reason: service.AdjustmentReason | None = strawberry.field(
        description="Why an adjustment was made; null for other kinds."
    )
    note: str | None
    created_at: datetime
    record: strawberry.Private[service.StockMovementRecord]
    created_by: Actor | None = actor_field(lambda movement: movement.record.created_by)

    @classmethod
    def of(cls, record: service.StockMovementRecord) -> StockMovement:
        return cls(
            id=gid(record.id), kind=record.kind, quantity=record.quantity,
            stock_before=record.stock_before, stock_after=record.stock_after,
            reason=record.reason, note=record.note, created_at=record.created_at, record=record,
        )  # fmt: skip


@strawberry.type
class StockAdjusted:
    product: Product
    movement: StockMovement


AdjustStockResult = Annotated[
    StockAdjusted | NotFound | InsufficientStock | InvalidInput | IdempotencyKeyReused,
    strawberry.union("AdjustStockResult"),
]


@strawberry.input
class AdjustStockInput:
    product_id: strawberry.ID
    change: int = strawberry.field(description="Units to add (positive) or take away (negative).")
    reason: service.AdjustmentReason
    idempotency_key: str
    note: str | None = None


@strawberry.type
class StockMutations:
    @strawberry.mutation(permission_classes=STOCK)
    @audited("Product", by="productId")
    async def adjust_stock(self, info: Info, input: AdjustStockInput) -> AdjustStockResult:
        problems = Problems()
        product_id = read_id(input.product_id, "productId", problems)
        if input.change == 0 or abs(input.change) > MAX_STOCK:
            problems.add("change", f"must be non-zero and at most {MAX_STOCK} either way")
        note = read_text(input.note, "note", problems, max_length=500, required=False)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)

        async def attempt() -> service.AdjustOutcome:
            async with info.context.uow() as uow:
                return await service.adjust_stock(
                    uow, product_id=product_id, change=input.change, reason=input.reason,
                    note=note, idempotency_key=key,
                )  # fmt: skip

        outcome = await with_retries(attempt)
        match outcome:
            case service.StockAdjusted():
                product = Product.of(outcome.product, info.context.minor_units)
                return StockAdjusted(product=product, movement=StockMovement.of(outcome.movement))
            case Missing():
                return NotFound.of(outcome)
            case Short():
                return insufficient_stock(outcome)
            case KeyReused():
                return IdempotencyKeyReused.of(outcome)
            case Invalid():
                return InvalidInput.of(outcome)
