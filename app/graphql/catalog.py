"""Product type, lookups and the catalogue mutations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry

from app.domain.catalogue import ProductStatus, Unit
from app.domain.records import ProductRecord
from app.domain.results import Invalid, KeyReused, Missing, Problems
from app.graphql import loaders
from app.graphql.audited import audited
from app.graphql.common import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    gid,
    read_id,
    read_idempotency_key,
    read_money,
    read_percent,
    read_quantity,
    read_text,
)
from app.graphql.context import Info
from app.graphql.permissions import READ, STOCK
from app.graphql.product_details import read_details
from app.graphql.scalars import Money, Percent, money, percent
from app.services import archive
from app.services import catalog as service
from app.services.catalog import MAX_STOCK
from app.services.retry import with_retries

strawberry.enum(Unit, name="ProductUnit")
strawberry.enum(
    ProductStatus,
    name="ProductStatus",
    description="Only ACTIVE products can be sold; separate from archiving.",
)


@strawberry.type
class Product:
    id: strawberry.ID
    name: str
    sku: str
    price: Money
    stock: int = strawberry.field(description="Units on hand; never negative.")
    tax_rate: Percent | None = strawberry.field(
        description="The product's own tax rate; null: the store's default rate."
    )
    archived_at: datetime | None = strawberry.field(
        description="When archived: left out of lists unless asked, cannot be sold."
    )
    description: str | None
    category: str | None
    unit: Unit
    barcode: str | None = strawberry.field(description="Unique within the business.")
    cost_price: Money | None
    min_stock: int | None = strawberry.field(
        description="Low on stock below this; null: the store's lowStockDefault."
    )
    expiry_date: date | None
    status: ProductStatus
    updated_at: datetime
    record: strawberry.Private[ProductRecord]

    @classmethod
    def of(cls, record: ProductRecord, minor_units: int) -> Product:
        return cls(
            id=gid(record.id),
            name=record.name,
            sku=record.sku,
            price=money(record.price, minor_units),
            stock=record.stock,
            tax_rate=None if record.tax_rate is None else percent(record.tax_rate),
            archived_at=record.archived_at,
            description=record.description,
            category=record.category,
            unit=Unit(record.unit),
            barcode=record.barcode,
            cost_price=None if record.cost_price is None else money(record.cost_price, minor_units),
            min_stock=record.min_stock,
            expiry_date=record.expiry_date,
            status=ProductStatus(record.status),
            updated_at=record.updated_at or record.created_at,
            record=record,
        )


@strawberry.type
class ProductCreated:
    product: Product


@strawberry.type
class ProductUpdated:
    product: Product


@strawberry.type
class ProductRestocked:
    product: Product


CreateProductResult = Annotated[
    ProductCreated | InvalidInput, strawberry.union("CreateProductResult")
]
UpdateProductResult = Annotated[
    ProductUpdated | NotFound | InvalidInput, strawberry.union("UpdateProductResult")
]
RestockProductResult = Annotated[
    ProductRestocked | NotFound | InvalidInput | IdempotencyKeyReused,
    strawberry.union("RestockProductResult"),
]


@strawberry.type
class ProductArchived:
    product: Product


@strawberry.type
class ProductUnarchived:
    product: Product


ArchiveProductResult = Annotated[
    ProductArchived | NotFound | InvalidInput, strawberry.union("ArchiveProductResult")
]
UnarchiveProductResult = Annotated[
    ProductUnarchived | NotFound | InvalidInput, strawberry.union("UnarchiveProductResult")
]


@strawberry.input
class ArchiveProductInput:
    product_id: strawberry.ID


@strawberry.input
class CreateProductInput:
    name: str
    sku: str
    price: Money
    stock: int = 0
    tax_rate: Percent | None = strawberry.field(
        default=None, description="Null: the store's default rate."
    )
    description: str | None = None
    category: str | None = None
    unit: str | None = strawberry.field(
        default=None, description="One of PCS KG G L ML DOZEN PACK BOX; null: PCS."
    )
    barcode: str | None = strawberry.field(
        default=None, description="At most 64 characters, unique within the business."
    )
    cost_price: Money | None = None
    min_stock: int | None = strawberry.field(
        default=None, description="Null: the store's lowStockDefault."
    )
    expiry_date: date | None = None
    status: str | None = strawberry.field(
        default=None, description="One of ACTIVE INACTIVE DISCONTINUED; null: ACTIVE."
    )


DETAIL_FIELDS = (
    "description", "category", "unit", "barcode", "cost_price", "min_stock", "expiry_date",
    "status",
)  # fmt: skip


@strawberry.input
class UpdateProductInput:
    product_id: strawberry.ID
    name: str | None = strawberry.UNSET
    sku: str | None = strawberry.UNSET
    price: Money | None = strawberry.UNSET
    tax_rate: Percent | None = strawberry.field(
        default=strawberry.UNSET, description="Null: the store's default rate from now on."
    )
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    unit: str | None = strawberry.field(
        default=strawberry.UNSET, description="One of PCS KG G L ML DOZEN PACK BOX."
    )
    barcode: str | None = strawberry.field(
        default=strawberry.UNSET, description="Null or empty: no barcode."
    )
    cost_price: Money | None = strawberry.UNSET
    min_stock: int | None = strawberry.field(
        default=strawberry.UNSET, description="Null: the store's lowStockDefault from now on."
    )
    expiry_date: date | None = strawberry.UNSET
    status: str | None = strawberry.field(
        default=strawberry.UNSET, description="One of ACTIVE INACTIVE DISCONTINUED."
    )


@strawberry.input
class RestockProductInput:
    product_id: strawberry.ID
    quantity: int
    idempotency_key: str
    note: str | None = None


def _duplicate(
    duplicate: service.DuplicateSku | service.DuplicateBarcode,
) -> InvalidInput:
    field = "sku" if isinstance(duplicate, service.DuplicateSku) else "barcode"
    return InvalidInput.one(field, f"{str(duplicate)!r} is already used by another product")


def _details(input: CreateProductInput | UpdateProductInput) -> dict[str, Any]:
    return {name: getattr(input, name) for name in DETAIL_FIELDS}


@strawberry.type
class CatalogQueries:
    @strawberry.field(permission_classes=READ)
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        record = await loaders.load_by_client_id(loaders.product_by_id(info), id)
        return None if record is None else Product.of(record, info.context.minor_units)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(permission_classes=STOCK)
    @audited("Product")
    async def create_product(self, info: Info, input: CreateProductInput) -> CreateProductResult:
        problems = Problems()
        minor_units = info.context.minor_units
        name = read_text(input.name, "name", problems, max_length=200, required=True)
        sku = read_text(input.sku, "sku", problems, max_length=64, required=True)
        price = read_money(input.price, "price", problems, minor_units, positive=False)
        if input.stock < 0:
            problems.add("stock", "must not be negative")
        elif input.stock > MAX_STOCK:
            problems.add("stock", "is too large")
        tax_rate = None
        if input.tax_rate is not None:
            tax_rate = read_percent(input.tax_rate, "taxRate", problems)
        given = {name: value for name, value in _details(input).items() if value is not None}
        details = read_details(given, problems, minor_units)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        assert name is not None
        assert sku is not None
        new = service.NewProduct(
            name=name, sku=sku, price=price, stock=input.stock, tax_rate=tax_rate, details=details
        )
        async with info.context.uow() as uow:
            result = await service.create_product(uow, product=new)
        if isinstance(result, service.DuplicateSku | service.DuplicateBarcode):
            return _duplicate(result)
        return ProductCreated(product=Product.of(result, minor_units))

    @strawberry.mutation(permission_classes=STOCK)
    @audited("Product", by="productId")
    async def update_product(self, info: Info, input: UpdateProductInput) -> UpdateProductResult:
        problems = Problems()
        minor_units = info.context.minor_units
        product_id = read_id(input.product_id, "productId", problems)
        changes: dict[str, Any] = {}
        if input.name is not strawberry.UNSET:
            changes["name"] = read_text(input.name, "name", problems, max_length=200, required=True)
        if input.sku is not strawberry.UNSET:
            changes["sku"] = read_text(input.sku, "sku", problems, max_length=64, required=True)
        if input.price is not strawberry.UNSET:
            if input.price is None:
                problems.add("price", "must not be null")
            else:
                changes["price"] = read_money(
                    input.price, "price", problems, minor_units, positive=False
                )
        if input.tax_rate is not strawberry.UNSET:
            rate = input.tax_rate
            changes["tax_rate"] = None if rate is None else read_percent(rate, "taxRate", problems)
        changes.update(read_details(_details(input), problems, minor_units))
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        async with info.context.uow() as uow:
            result = await service.update_product(uow, product_id=product_id, changes=changes)
        if isinstance(result, Missing):
            return NotFound.of(result)
        if isinstance(result, service.DuplicateSku | service.DuplicateBarcode):
            return _duplicate(result)
        return ProductUpdated(product=Product.of(result, minor_units))

    @strawberry.mutation(permission_classes=STOCK)
    @audited("Product", by="productId")
    async def restock_product(self, info: Info, input: RestockProductInput) -> RestockProductResult:
        problems = Problems()
        product_id = read_id(input.product_id, "productId", problems)
        quantity = read_quantity(input.quantity, "quantity", problems)
        note = read_text(input.note, "note", problems, max_length=500, required=False)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)

        async def attempt() -> ProductRecord | Missing | KeyReused | Invalid:
            async with info.context.uow() as uow:
                return await service.restock_product(
                    uow, product_id=product_id, quantity=quantity, note=note, idempotency_key=key
                )

        result = await with_retries(attempt)
        if isinstance(result, Missing):
            return NotFound.of(result)
        if isinstance(result, KeyReused):
            return IdempotencyKeyReused.of(result)
        if isinstance(result, Invalid):
            return InvalidInput.of(result)
        return ProductRestocked(product=Product.of(result, info.context.minor_units))

    @strawberry.mutation(permission_classes=STOCK)
    @audited("Product", by="productId")
    async def archive_product(self, info: Info, input: ArchiveProductInput) -> ArchiveProductResult:
        result = await _set_archived(info, input, archived=True)
        if isinstance(result, Product):
            return ProductArchived(product=result)
        return result

    @strawberry.mutation(permission_classes=STOCK)
    @audited("Product", by="productId")
    async def unarchive_product(
        self, info: Info, input: ArchiveProductInput
    ) -> UnarchiveProductResult:
        result = await _set_archived(info, input, archived=False)
        if isinstance(result, Product):
            return ProductUnarchived(product=result)
        return result


async def _set_archived(
    info: Info, input: ArchiveProductInput, *, archived: bool
) -> Product | NotFound | InvalidInput:
    problems = Problems()
    product_id = read_id(input.product_id, "productId", problems)
    if invalid := problems.result():
        return InvalidInput.of(invalid)
    async with info.context.uow() as uow:
        result = await archive.set_product_archived(uow, product_id=product_id, archived=archived)
    if isinstance(result, Missing):
        return NotFound.of(result)
    return Product.of(result, info.context.minor_units)
