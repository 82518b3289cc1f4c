"""Products and their stock.

Stock changes only by appending a ``stock_movements`` row; the database trigger
applies it to ``products.stock`` under the row lock and refuses a negative result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.domain.records import ProductRecord
from app.domain.results import Invalid, KeyReused, Missing
from app.services import idempotency
from app.services.reads import ReadQuery
from app.services.retry import constraint_name
from app.services.unit_of_work import ACTOR, CREATED_BY, TENANT, UnitOfWork, UnitsOfWork

MAX_STOCK = 2**31 - 1
"""Product.stock is a GraphQL Int (32-bit): more stock than this could not be shown."""

PRODUCT_COLUMNS = (
    "p.id, p.name, p.sku, p.price, p.stock, p.created_at,"
    " CAST(p.tax_rate * 100 AS integer) AS tax_rate, p.archived_at, p.description, p.category,"
    " p.unit, p.barcode, p.cost_price, p.min_stock, p.expiry_date, p.status, p.updated_at"
)


def product_from_row(row: Any) -> ProductRecord:
    return ProductRecord(
        id=row["id"], name=row["name"], sku=row["sku"], price=row["price"], stock=row["stock"],
        created_at=row["created_at"], tax_rate=row["tax_rate"], archived_at=row["archived_at"],
        description=row["description"], category=row["category"], unit=row["unit"],
        barcode=row["barcode"], cost_price=row["cost_price"], min_stock=row["min_stock"],
        expiry_date=row["expiry_date"], status=row["status"], updated_at=row["updated_at"],
    )  # fmt: skip


_BY_IDS_SQL = (
    f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.business_id = {TENANT} AND p.id = ANY(:ids)"
)
_BY_IDS = text(_BY_IDS_SQL)
_READ_BY_IDS = ReadQuery(_BY_IDS_SQL)


async def get_products(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, ProductRecord]:
    """Inside a transaction, which may have just written them."""
    rows = await uow.execute(_BY_IDS, {"ids": list(ids)})
    return {row.id: product_from_row(row._mapping) for row in rows}


async def read_products(units: UnitsOfWork, ids: Sequence[int]) -> dict[int, ProductRecord]:
    """Outside any transaction: one statement on the driver pool (``UnitsOfWork.read``)."""
    rows = await _READ_BY_IDS.fetch(units, {"ids": list(ids)})
    return {row["id"]: product_from_row(row) for row in rows}


async def get_product(uow: UnitOfWork, product_id: int) -> ProductRecord | None:
    return (await get_products(uow, [product_id])).get(product_id)


class DuplicateSku(Exception):  # noqa: N818
    """Another product of this business already has the SKU."""


class DuplicateBarcode(Exception):  # noqa: N818
    """Another product of this business already has the barcode."""


SKU_CONSTRAINT = "products_business_id_sku_key"
BARCODE_CONSTRAINT = "products_business_id_barcode_key"
_SKU_TAKEN = text(
    f"SELECT 1 FROM products WHERE business_id = {TENANT} AND sku = :sku AND id <> :id"
)
_BARCODE_TAKEN = text(
    f"SELECT 1 FROM products WHERE business_id = {TENANT} AND barcode = :barcode AND id <> :id"
)


async def _sku_taken(uow: UnitOfWork, sku: str, product_id: int = 0) -> bool:
    return (await uow.execute(_SKU_TAKEN, {"sku": sku, "id": product_id})).first() is not None


async def _barcode_taken(uow: UnitOfWork, barcode: str | None, product_id: int = 0) -> bool:
    if barcode is None:
        return False
    found = await uow.execute(_BARCODE_TAKEN, {"barcode": barcode, "id": product_id})
    return found.first() is not None


def _duplicate(exc: IntegrityError, changes: dict[str, Any]) -> DuplicateSku | DuplicateBarcode:
    """The duplicate a unique violation names (another request took the value meanwhile)."""
    name = constraint_name(exc)
    if name == SKU_CONSTRAINT:
        return DuplicateSku(changes["sku"])
    if name == BARCODE_CONSTRAINT:
        return DuplicateBarcode(changes["barcode"])
    raise exc


@dataclass(frozen=True)
class NewProduct:
    name: str
    sku: str
    price: int
    stock: int
    tax_rate: int | None = None
    """Hundredths of a percent; ``None``: the store's default."""
    details: dict[str, Any] = field(default_factory=dict)
    """Catalogue columns (``DETAILS``) given a value; the rest keep their defaults."""


DETAILS = (
    "description", "category", "unit", "barcode", "cost_price", "min_stock", "expiry_date",
    "status",
)  # fmt: skip
_INSERT = text(
    f"INSERT INTO products (business_id, name, sku, price, tax_rate, {', '.join(DETAILS)})"
    f" VALUES ({TENANT}, :name, :sku, :price, CAST(:tax_rate AS numeric) / 100,"
    f" :description, :category, coalesce(:unit, 'PCS'), :barcode, :cost_price, :min_stock,"
    f" :expiry_date, coalesce(:status, 'ACTIVE'))"
    f" ON CONFLICT (business_id, sku) DO NOTHING RETURNING id"
)
_MOVE = text(
    f"INSERT INTO stock_movements (business_id, product_id, kind, quantity, note, {CREATED_BY})"
    f" VALUES ({TENANT}, :product_id, :kind, :quantity, :note, {ACTOR})"
)


async def create_product(
    uow: UnitOfWork, *, product: NewProduct
) -> ProductRecord | DuplicateSku | DuplicateBarcode:
    unknown = set(product.details) - set(DETAILS)
    if unknown:
        raise ValueError(f"not product details: {sorted(unknown)}")
    values = {column: product.details.get(column) for column in DETAILS}
    if await _barcode_taken(uow, values["barcode"]):
        return DuplicateBarcode(values["barcode"])
    params = {
        "name": product.name, "sku": product.sku, "price": product.price,
        "tax_rate": product.tax_rate, **values,
    }  # fmt: skip
    try:
        new_id = (await uow.execute(_INSERT, params)).scalar_one_or_none()
    except IntegrityError as exc:
        return _duplicate(exc, params)
    if new_id is None:
        return DuplicateSku(product.sku)
    uow.audit_target(new_id)
    if product.stock > 0:
        await uow.execute(
            _MOVE,
            {"product_id": new_id, "kind": "initial", "quantity": product.stock, "note": None},
        )
    created = await get_product(uow, new_id)
    assert created is not None
    await uow.commit()
    return created


UPDATABLE = ("name", "sku", "price", "tax_rate", *DETAILS)


async def update_product(
    uow: UnitOfWork, *, product_id: int, changes: dict[str, Any]
) -> ProductRecord | Missing | DuplicateSku | DuplicateBarcode:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if "sku" in changes and await _sku_taken(uow, changes["sku"], product_id):
        return DuplicateSku(changes["sku"])
    if "barcode" in changes and await _barcode_taken(uow, changes["barcode"], product_id):
        return DuplicateBarcode(changes["barcode"])
    assignments = "".join(
        f", {column} = CAST(:{column} AS numeric) / 100" if column == "tax_rate"
        else f", {column} = :{column}"
        for column in changes
    )  # fmt: skip
    statement = text(
        f"UPDATE products SET updated_at = now(){assignments}"
        f" WHERE business_id = {TENANT} AND id = :id RETURNING id"
    )
    before = await get_product(uow, product_id)
    try:
        updated = (await uow.execute(statement, {**changes, "id": product_id})).first()
    except IntegrityError as exc:
        # Another request took the SKU or barcode between the check above and this update.
        return _duplicate(exc, changes)
    if updated is None:
        return Missing("Product", str(product_id))
    record = await get_product(uow, product_id)
    assert record is not None
    uow.audit_change(before, record)
    await uow.commit()
    return record


_LOCK = text(f"SELECT stock FROM products WHERE business_id = {TENANT} AND id = :id FOR UPDATE")


async def restock_product(
    uow: UnitOfWork, *, product_id: int, quantity: int, note: str | None, idempotency_key: str
) -> ProductRecord | Missing | KeyReused | Invalid:
    """Add stock.  A retry with the same key answers with the product, adding nothing.

    The product is locked before the key is stored, as a sale locks its products
    before it stores its key (migration 0009): the holds are taken in one order on
    every path.  A duplicate arriving meanwhile waits on the product, then finds the
    stored key.  A refusal rolls the key back with everything else: refusals are
    not remembered.
    """
    request = {"productId": product_id, "quantity": quantity, "note": note}
    hash_ = idempotency.request_hash("restockProduct", request)
    stock = (await uow.execute(_LOCK, {"id": product_id})).scalar_one_or_none()
    if stock is None:
        return Missing("Product", str(product_id))
    earlier = await idempotency.recall(
        uow, key=idempotency_key, operation="restockProduct", hash_=hash_
    )
    if isinstance(earlier, KeyReused):
        return earlier
    if earlier is None:
        await idempotency.remember(
            uow, key=idempotency_key, operation="restockProduct", hash_=hash_,
            response={"productId": product_id},
        )  # fmt: skip
    if earlier is None:
        if stock + quantity > MAX_STOCK:
            return Invalid.one("quantity", f"would take stock above {MAX_STOCK}")
        await uow.execute(
            _MOVE,
            {"product_id": product_id, "kind": "restock", "quantity": quantity, "note": note},
        )
    record = await get_product(uow, product_id)
    assert record is not None
    await uow.commit()
    return record
