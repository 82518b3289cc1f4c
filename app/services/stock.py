"""Stock adjustments: damage, loss, a count, other; a new movement, never an edit.

The product row is locked before the idempotency key is read or stored, as a
restock does (``app.services.catalog``), so the holds follow the order of every
other path: customer, products by ascending id, then the key.  A refusal rolls
the key back with everything else: refusals are not remembered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import text

from app.domain.identity import NOBODY, CreatedBy
from app.domain.purchases import InsufficientStock, ShortLine
from app.domain.records import ProductRecord
from app.domain.results import Invalid, KeyReused, Missing
from app.services import idempotency
from app.services.catalog import MAX_STOCK, get_product
from app.services.unit_of_work import ACTOR, CREATED_BY, TENANT, UnitOfWork

OPERATION = "adjustStock"


class AdjustmentReason(Enum):
    DAMAGE = "DAMAGE"
    LOSS = "LOSS"
    COUNT = "COUNT"
    OTHER = "OTHER"


@dataclass(frozen=True)
class StockMovementRecord:
    id: int
    product_id: int
    kind: str
    quantity: int
    stock_after: int
    reason: AdjustmentReason | None
    note: str | None
    created_at: datetime
    created_by: CreatedBy = NOBODY

    @property
    def stock_before(self) -> int:
        return self.stock_after - self.quantity


@dataclass(frozen=True)
class StockAdjusted:
    product: ProductRecord
    movement: StockMovementRecord


AdjustOutcome = StockAdjusted | Missing | InsufficientStock | Invalid | KeyReused

_LOCK = text(f"SELECT stock FROM products WHERE business_id = {TENANT} AND id = :id FOR UPDATE")
_MOVE = text(
    f"INSERT INTO stock_movements (business_id, product_id, kind, quantity, reason, note,"
    f" {CREATED_BY}) VALUES ({TENANT}, :product_id, 'adjustment', :quantity, :reason, :note,"
    f" {ACTOR}) RETURNING id"
)
_MOVEMENT = text(
    f"SELECT id, product_id, kind, quantity, stock_after, reason, note, created_at,"
    f" created_by_user_id, created_by_key_id"
    f" FROM stock_movements WHERE business_id = {TENANT} AND id = :id"
)


async def get_movement(uow: UnitOfWork, movement_id: int) -> StockMovementRecord:
    row = (await uow.execute(_MOVEMENT, {"id": movement_id})).one()
    return StockMovementRecord(
        id=row.id, product_id=row.product_id, kind=row.kind, quantity=row.quantity,
        stock_after=row.stock_after,
        reason=None if row.reason is None else AdjustmentReason(row.reason),
        note=row.note, created_at=row.created_at,
        created_by=CreatedBy(row.created_by_user_id, row.created_by_key_id),
    )  # fmt: skip


async def adjust_stock(
    uow: UnitOfWork,
    *,
    product_id: int,
    change: int,
    reason: AdjustmentReason,
    note: str | None,
    idempotency_key: str,
) -> AdjustOutcome:
    """Add ``change`` units (negative: take them away); stock never goes below zero."""
    request = {"productId": product_id, "change": change, "reason": reason.value, "note": note}
    hash_ = idempotency.request_hash(OPERATION, request)
    stock = (await uow.execute(_LOCK, {"id": product_id})).scalar_one_or_none()
    if stock is None:
        return Missing("Product", str(product_id))
    earlier = await idempotency.recall(uow, key=idempotency_key, operation=OPERATION, hash_=hash_)
    if isinstance(earlier, KeyReused):
        return earlier
    if isinstance(earlier, idempotency.Replay):
        movement_id = int(earlier.response["movementId"])
    else:
        if stock + change < 0:
            return InsufficientStock((ShortLine(product_id, -change, stock),))
        if stock + change > MAX_STOCK:
            return Invalid.one("change", f"would take stock above {MAX_STOCK}")
        params = {"product_id": product_id, "quantity": change, "reason": reason.value}
        movement_id = (await uow.execute(_MOVE, {**params, "note": note})).scalar_one()
        await idempotency.remember(
            uow, key=idempotency_key, operation=OPERATION, hash_=hash_,
            response={"productId": product_id, "movementId": movement_id},
        )  # fmt: skip
    product = await get_product(uow, product_id)
    assert product is not None
    movement = await get_movement(uow, movement_id)
    await uow.commit()
    return StockAdjusted(product, movement)
