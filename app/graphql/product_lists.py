"""Finding products: ``products``, ``productByBarcode``, ``categories`` and the alerts.

A cursor of ``products`` names its sort and order and holds the row's sort value
and id: a cursor of another sort is refused (``BAD_USER_INPUT``), and a page
after it never repeats or skips a product whose sort value did not change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry

from app.domain import catalogue
from app.domain.catalogue import ProductStatus
from app.graphql.catalog import Product
from app.graphql.context import Info
from app.graphql.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    bad_input,
    connection,
    decode_value_id,
    encode_cursor,
    page_size,
    read_bigint,
    read_instant,
    read_name,
    read_search,
)
from app.graphql.permissions import READ
from app.services import product_lists as service
from app.services.product_lists import ProductFilters, ProductSort


@strawberry.enum
class ProductSortBy(Enum):
    NAME = "NAME"
    STOCK = "STOCK"
    PRICE = "PRICE"
    UPDATED_AT = "UPDATED_AT"


@strawberry.enum
class SortOrder(Enum):
    ASC = "ASC"
    DESC = "DESC"


_READ_SORT_VALUE: dict[ProductSort, Callable[[object], str | int | datetime | None]] = {
    ProductSort.NAME: read_name,
    ProductSort.STOCK: read_bigint,
    ProductSort.PRICE: read_bigint,
    ProductSort.UPDATED_AT: read_instant,
}


@strawberry.type
class Category:
    name: str
    product_count: int = strawberry.field(description="Products listed (not archived).")


@strawberry.type
class LowStockProduct:
    product: Product
    minimum: int = strawberry.field(description="Its minStock, else the store's lowStockDefault.")


@strawberry.type
class ExpiringProduct:
    product: Product
    expiry_date: date
    days_left: int = strawberry.field(
        description="Days from the store's today (its time zone); negative once expired."
    )
    expired: bool


def _ratio(value: object) -> str | None:
    """A cursor's ratio: a decimal text as PostgreSQL printed it."""
    if not isinstance(value, str) or len(value) > 60:
        return None
    try:
        number = Decimal(value)
    except ArithmeticError:
        return None
    return value if number.is_finite() and number >= 0 else None


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@strawberry.type
class ProductListQueries:
    @strawberry.field(
        permission_classes=READ,
        description=(
            "Products by `sortBy` then id (stable cursors for every sort); `search` matches "
            "a case-insensitive part of the name, SKU or barcode; archived products only "
            "with `includeArchived`."
        ),
    )
    async def products(  # noqa: PLR0917 - GraphQL arguments, passed by name
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        search: str | None = None,
        category: str | None = None,
        status: ProductStatus | None = None,
        low_stock: bool | None = None,
        sort_by: ProductSortBy = ProductSortBy.NAME,
        sort_order: SortOrder = SortOrder.ASC,
        include_archived: bool = False,
    ) -> Connection[Product]:
        limit = page_size(first)
        sort = ProductSort[sort_by.value]
        order = service.SortOrder[sort_order.value]
        kind = f"products:{sort.name}:{order.name}"
        key: tuple[str | int | datetime, int] | None = decode_value_id(
            after, kind, _READ_SORT_VALUE[sort]
        )
        filters = ProductFilters(
            search=read_search(search),
            category=None if category is None else category.strip(),
            status=None if status is None else status.value,
            low_stock=low_stock,
            include_archived=include_archived,
        )
        records = await service.products_page(
            info.context.uow, limit=limit + 1, filters=filters, sort=sort, order=order, after=key
        )
        minor_units = info.context.minor_units
        return connection(
            records,
            limit,
            cursor=lambda record: encode_cursor(kind, service.sort_value(record, sort), record.id),
            node=lambda record: Product.of(record, minor_units),
        )

    @strawberry.field(
        permission_classes=READ, description="The product with this barcode, archived or not."
    )
    async def product_by_barcode(self, info: Info, barcode: str) -> Product | None:
        if catalogue.barcode_problem(barcode):
            return None
        found = await service.product_by_barcode(info.context.uow, barcode=barcode.strip())
        return None if found is None else Product.of(found, info.context.minor_units)

    @strawberry.field(
        permission_classes=READ,
        description=f"Categories of listed products, by name (at most {service.MAX_CATEGORIES}).",
    )
    async def categories(self, info: Info) -> list[Category]:
        found = await service.categories(info.context.uow)
        return [Category(name=c.name, product_count=c.product_count) for c in found]

    @strawberry.field(
        permission_classes=READ,
        description=(
            "Products whose stock is below their minimum, lowest ratio of stock to minimum "
            "first; archived and discontinued products are left out."
        ),
    )
    async def low_stock_products(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[LowStockProduct]:
        limit = page_size(first)
        key = decode_value_id(after, "low-stock", _ratio)
        rows = await service.low_stock(info.context.uow, limit=limit + 1, after=key)
        minor_units = info.context.minor_units
        return connection(
            rows,
            limit,
            cursor=lambda row: encode_cursor("low-stock", row.ratio, row.product.id),
            node=lambda row: LowStockProduct(
                product=Product.of(row.product, minor_units), minimum=row.minimum
            ),
        )

    @strawberry.field(
        permission_classes=READ,
        description=(
            "Products expiring within `withinDays` days of the store's today (its time zone), "
            "soonest first; those already expired are included and flagged."
        ),
    )
    async def expiring_products(
        self,
        info: Info,
        within_days: int = 7,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[ExpiringProduct]:
        limit = page_size(first)
        if not 0 <= within_days <= 3650:
            raise bad_input("withinDays", "must be between 0 and 3650")
        key = decode_value_id(after, "expiring", _date)
        rows = await service.expiring(
            info.context.uow, within_days=within_days, limit=limit + 1, after=key
        )
        minor_units = info.context.minor_units
        return connection(
            rows,
            limit,
            cursor=lambda row: encode_cursor("expiring", _expiry(row).isoformat(), row.product.id),
            node=lambda row: _expiring(row, minor_units),
        )


def _expiry(row: service.Expiring) -> date:
    assert row.product.expiry_date is not None
    return row.product.expiry_date


def _expiring(row: service.Expiring, minor_units: int) -> ExpiringProduct:
    expiry = _expiry(row)
    left = catalogue.days_left(expiry, row.today)
    return ExpiringProduct(
        product=Product.of(row.product, minor_units),
        expiry_date=expiry,
        days_left=left,
        expired=left < 0,
    )
