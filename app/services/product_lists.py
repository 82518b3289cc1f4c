"""Finding products: the filtered, sorted list, by barcode, categories and the alerts.

Every list is keyset-paginated on (sort value, id), so a page after a cursor
never repeats or skips a row whose sort value did not change, even when values
tie.  Each combination of filters is its own constant statement with a stable
generic plan (``_products_statement`` is the one builder of the list's SQL).

Search matches a case-insensitive part of ``search_text`` (name, SKU and barcode,
lower-cased; migration 0020). Sorted by name or price, a search first looks through
the first ``WINDOW`` products in that order (an index range): if they hold a whole
page of matches, that is the page, since no match sorts before them; if they hold
part of one, longer walks may complete it (``listing.first_page``); a walk reads
the index only (it carries ``search_text``, migration 0026). Otherwise the
matches are few and the business's matches are read first, then sorted: a search
of three characters or more is a ``LIKE`` of the lower-cased pattern (0021) that the
trigram index serves where the server has one; shorter searches have no trigram to
look up and filter the business's rows with ``strpos``, as every search does without
the index. The read-then-sort step sits behind ``OFFSET 0``, so a generic plan never
walks the sort order hoping to meet rare matches. A search longer than any searchable
text matches nothing and is not sent.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, NamedTuple

from app.domain.records import ProductRecord
from app.services.catalog import PRODUCT_COLUMNS, product_from_row
from app.services.listing import first_page, search_condition, searchable
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork

MINIMUM = "coalesce(p.min_stock, s.low_stock_default)"
"""A product's minimum stock (``p`` the product, ``s`` its business): its own, else the
store's ``lowStockDefault``."""
LOW_STOCK = f"p.stock < {MINIMUM}"
"""Running low: below its minimum."""
RESTOCKED = "p.archived_at IS NULL AND p.status <> 'DISCONTINUED'"
"""Products anyone restocks: the only ones low stock lists and counts."""

BUSINESS_PRODUCTS = (
    f"(SELECT * FROM products p WHERE p.business_id = {TENANT} ORDER BY p.business_id, p.id)"
)
"""The business's products, for a statement that reads all of them: in primary key
order, the generic plan reads them by that index instead of every tenant's rows (the
plan a table mostly of another tenant's products gets: 10.9 ms against 0.23 ms for 200
of 100,200 products; bench/README.md, "2026-12-04 (evening)")."""
EXPIRING_DAYS = 7
"""``expiringProducts``' default window, which the dashboard counts and lists."""


class ProductSort(Enum):
    NAME = "p.name"
    STOCK = "p.stock"
    PRICE = "p.price"
    UPDATED_AT = "p.updated_at"


class SortOrder(Enum):
    ASC = "ASC"
    DESC = "DESC"


class ProductFilters(NamedTuple):
    search: str | None = None
    category: str | None = None
    status: str | None = None
    low_stock: bool | None = None
    include_archived: bool = False


INDEXED_SORTS = frozenset({ProductSort.NAME, ProductSort.PRICE})
"""Sorts with a (business_id, value, id) index: a window of them is an index range."""


@cache
def _products_statement(
    *, search: str | None, category: bool, status: bool, low_stock: bool | None,
    archived: bool, sort: ProductSort, order: SortOrder, after: bool, window: bool = False,
) -> ReadQuery:  # fmt: skip
    """``search`` is the search condition (``search_condition``), or ``None``; with
    ``window``, it is applied to the first ``WINDOW`` products in sort order only."""
    listed = [f"p.business_id = {TENANT}"]
    if not archived:
        listed.append("p.archived_at IS NULL")
    if category:
        listed.append("p.category = :category")
    if status:
        listed.append("p.status = :status")
    if after:
        listed.append(f"({sort.value}, p.id) {'>' if order is SortOrder.ASC else '<'}"
                      " (:after_value, :after_id)")  # fmt: skip
    ordered = f"{sort.value} {order.value}, p.id {order.value}"
    stock = [] if low_stock is None else [LOW_STOCK if low_stock else f"NOT ({LOW_STOCK})"]
    business = ""
    if stock:
        business = f" CROSS JOIN (SELECT low_stock_default FROM businesses WHERE id = {TENANT}) s"
    if search is None:
        source, conditions = f"products p{business}", [*listed, *stock]
    else:
        needs = "".join(f", {c}" for c in ("p.stock", "p.min_stock") if stock and c != sort.value)
        if window:
            # The walk reads the sort's index only (its columns are in it, 0026), unless
            # the low-stock filter needs the table.
            rows = (f"(SELECT p.id, {sort.value}, p.search_text{needs} FROM products p WHERE"
                    f" {' AND '.join(listed)} ORDER BY {ordered} LIMIT :window) p")  # fmt: skip
            kept = [search, *stock]
        else:
            # The business's matches, read first (OFFSET 0: a generic plan never walks
            # the sort order hoping to meet rare ones), then sorted.
            rows = (f"(SELECT p.id, {sort.value}{needs} FROM products p"
                    f" WHERE {' AND '.join([*listed, search])} OFFSET 0) p")  # fmt: skip
            kept = stock
        filtered = f" WHERE {' AND '.join(kept)}" if kept else ""
        # Only the page's products are read whole.
        page = f"SELECT p.id FROM {rows}{business}{filtered} ORDER BY {ordered} LIMIT :limit"
        source = f"({page}) w JOIN products p ON p.business_id = {TENANT} AND p.id = w.id"
        conditions = []
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return ReadQuery(
        f"SELECT {PRODUCT_COLUMNS} FROM {source}{where} ORDER BY {ordered} LIMIT :limit"
    )


def sort_value(record: ProductRecord, sort: ProductSort) -> str | int | datetime:
    """The value of ``record`` that ``sort`` orders by (a cursor holds it)."""
    match sort:
        case ProductSort.NAME:
            return record.name
        case ProductSort.STOCK:
            return record.stock
        case ProductSort.PRICE:
            return record.price
        case ProductSort.UPDATED_AT:
            assert record.updated_at is not None
            return record.updated_at


async def products_page(
    units: UnitsOfWork,
    *,
    limit: int,
    filters: ProductFilters,
    sort: ProductSort = ProductSort.NAME,
    order: SortOrder = SortOrder.ASC,
    after: tuple[str | int | datetime, int] | None = None,
) -> list[ProductRecord]:
    """Up to ``limit`` products after the (sort value, id) ``after``."""
    if not searchable(filters.search):
        return []
    params: dict[str, Any] = {"limit": limit}
    condition = None
    if filters.search:
        condition, search_params = search_condition("p.search_text", filters.search)
        params.update(search_params)
    if filters.category is not None:
        params["category"] = filters.category
    if filters.status is not None:
        params["status"] = filters.status
    if after is not None:
        params["after_value"], params["after_id"] = after
    shape = {
        "search": condition, "category": filters.category is not None,
        "status": filters.status is not None, "low_stock": filters.low_stock,
        "archived": filters.include_archived, "sort": sort, "order": order,
        "after": after is not None,
    }  # fmt: skip
    every = _products_statement(**shape)
    if filters.search and sort in INDEXED_SORTS:
        window = _products_statement(**shape, window=True)
        rows = await first_page(
            filters.search, limit,
            lambda rows: window.fetch(units, {**params, "window": rows}),
            lambda: every.fetch(units, params),
        )  # fmt: skip
    else:
        rows = await every.fetch(units, params)
    return [product_from_row(row) for row in rows]


_BY_BARCODE = ReadQuery(
    f"SELECT {PRODUCT_COLUMNS} FROM products p"
    f" WHERE p.business_id = {TENANT} AND p.barcode = :barcode"
)


async def product_by_barcode(units: UnitsOfWork, *, barcode: str) -> ProductRecord | None:
    """Archived products too: a scan at the counter should say why it cannot be sold."""
    rows = await _BY_BARCODE.fetch(units, {"barcode": barcode})
    return product_from_row(rows[0]) if rows else None


class Category(NamedTuple):
    name: str
    product_count: int


MAX_CATEGORIES = 1000

_CATEGORIES = ReadQuery(
    # In the order of products_category_idx, for the reason of BUSINESS_PRODUCTS.
    "SELECT p.category AS name, count(*) AS product_count FROM (SELECT p.category"
    f"  FROM products p WHERE p.business_id = {TENANT} AND p.category IS NOT NULL"
    "   AND p.archived_at IS NULL ORDER BY p.business_id, p.category, p.id) p"
    f" GROUP BY p.category ORDER BY p.category LIMIT {MAX_CATEGORIES}"
)


async def categories(units: UnitsOfWork) -> list[Category]:
    """Categories of the listed (not archived) products, by name, with their counts."""
    rows = await _CATEGORIES.fetch(units, {})
    return [Category(row["name"], row["product_count"]) for row in rows]


class LowStock(NamedTuple):
    product: ProductRecord
    minimum: int
    ratio: str
    """Stock over minimum as PostgreSQL's exact decimal text: the cursor keeps it."""


def _low_stock_statement(after: bool) -> ReadQuery:
    keyset = " AND (l.ratio, l.id) > (CAST(:after_ratio AS numeric), :after_id)" if after else ""
    return ReadQuery(
        f"SELECT l.*, l.ratio::text AS ratio_text FROM ("
        f" SELECT {PRODUCT_COLUMNS}, {MINIMUM} AS minimum,"
        f"  p.stock::numeric / {MINIMUM} AS ratio"
        f" FROM {BUSINESS_PRODUCTS} p CROSS JOIN (SELECT low_stock_default FROM businesses"
        f"  WHERE id = {TENANT}) s"
        f" WHERE {RESTOCKED} AND {LOW_STOCK}) l"
        f" WHERE true{keyset} ORDER BY l.ratio, l.id LIMIT :limit"
    )


_LOW_STOCK = {after: _low_stock_statement(after) for after in (False, True)}


async def low_stock(
    units: UnitsOfWork, *, limit: int, after: tuple[str, int] | None
) -> list[LowStock]:
    """Products below their minimum, lowest ratio of stock to minimum first; archived and
    discontinued products are left out (nobody restocks them)."""
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after_ratio"], params["after_id"] = after
    rows = await _LOW_STOCK[after is not None].fetch(units, params)
    return [LowStock(product_from_row(row), row["minimum"], row["ratio_text"]) for row in rows]


class Expiring(NamedTuple):
    product: ProductRecord
    minimum: int
    today: date
    """The store's today, in its time zone."""


def _expiring_statement(after: bool) -> ReadQuery:
    keyset = " AND (p.expiry_date, p.id) > (:after_date, :after_id)" if after else ""
    return ReadQuery(
        f"SELECT {PRODUCT_COLUMNS}, {MINIMUM} AS minimum, s.today FROM (SELECT"
        "  CAST(now() AT TIME ZONE b.time_zone AS date) AS today, b.low_stock_default"
        f"  FROM businesses b WHERE b.id = {TENANT}) s"
        f" JOIN products p ON p.business_id = {TENANT} AND p.expiry_date IS NOT NULL"
        "  AND p.expiry_date <= s.today + CAST(:within_days AS integer)"
        f"  AND p.archived_at IS NULL{keyset}"
        " ORDER BY p.expiry_date, p.id LIMIT :limit"
    )


_EXPIRING = {after: _expiring_statement(after) for after in (False, True)}


async def expiring(
    units: UnitsOfWork, *, within_days: int, limit: int, after: tuple[date, int] | None
) -> list[Expiring]:
    """Products expiring within ``within_days`` of the store's today, soonest first,
    those already expired included; archived products are left out."""
    params: dict[str, Any] = {"limit": limit, "within_days": within_days}
    if after is not None:
        params["after_date"], params["after_id"] = after
    rows = await _EXPIRING[after is not None].fetch(units, params)
    return [Expiring(product_from_row(row), row["minimum"], row["today"]) for row in rows]
