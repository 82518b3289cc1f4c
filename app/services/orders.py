"""Reading orders back: by id or bill number, their items, a customer's orders newest
first, and how many a customer made and what they came to.

Each function answers a whole batch in one statement, so the dataloaders that
call them cost one query per batch however many orders a response shows.  The
``read_*`` functions run it on the driver pool, outside any transaction (one round
trip); the ``get_*`` ones inside the caller's unit of work, for corrections that
read what they lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from app.domain.identity import CreatedBy
from app.domain.purchases import OrderItemRecord, OrderRecord
from app.services.reads import ReadQuery, by_order
from app.services.unit_of_work import TENANT, UnitOfWork, UnitsOfWork

_COLUMNS = (
    "o.id, n.number, o.customer_id, o.total, o.note, o.created_at, o.discount_total,"
    " o.bill_discount, o.tax_total, o.prices_include_tax, o.paid_amount,"
    " o.created_by_user_id, o.created_by_key_id"
)


# NULL for an order still waiting for its bill number (app.services.bills).
_NUMBER = f" LEFT JOIN bill_numbers n ON n.business_id = {TENANT} AND n.order_id = o.id"


def _order(row: Any) -> OrderRecord:
    """From a row read by column name: the driver's record or a SQLAlchemy row's mapping."""
    return OrderRecord(
        id=row["id"], number=row["number"], customer_id=row["customer_id"], total=row["total"],
        note=row["note"], created_at=row["created_at"], discount_total=row["discount_total"],
        bill_discount=row["bill_discount"], tax_total=row["tax_total"],
        prices_include_tax=row["prices_include_tax"], paid_amount=row["paid_amount"],
        created_by=CreatedBy(row["created_by_user_id"], row["created_by_key_id"]),
    )  # fmt: skip


_BY_IDS_SQL = (
    f"SELECT {_COLUMNS} FROM orders o{_NUMBER} WHERE o.business_id = {TENANT} AND o.id = ANY(:ids)"
)
_BY_IDS = text(_BY_IDS_SQL)
_READ_BY_IDS = ReadQuery(_BY_IDS_SQL)


async def get_orders(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, OrderRecord]:
    rows = await uow.execute(_BY_IDS, {"ids": list(ids)})
    return {row.id: _order(row._mapping) for row in rows}


async def read_orders(units: UnitsOfWork, ids: Sequence[int]) -> dict[int, OrderRecord]:
    """``get_orders`` in one statement on the driver pool."""
    rows = await _READ_BY_IDS.fetch(units, {"ids": list(ids)})
    return {row["id"]: _order(row) for row in rows}


_READ_BY_NUMBERS = ReadQuery(
    f"SELECT {_COLUMNS} FROM bill_numbers n"
    f" JOIN orders o ON o.business_id = {TENANT} AND o.id = n.order_id"
    f" WHERE n.business_id = {TENANT} AND n.number = ANY(:numbers)"
)


async def read_orders_by_number(
    units: UnitsOfWork, numbers: Sequence[str]
) -> dict[str, OrderRecord]:
    rows = await _READ_BY_NUMBERS.fetch(units, {"numbers": list(numbers)})
    return {row["number"]: _order(row) for row in rows}


_TOTALS = ReadQuery(
    f"SELECT customer_id, count(*) AS orders, sum(total) AS spent FROM orders"
    f" WHERE business_id = {TENANT} AND customer_id = ANY(:ids) GROUP BY customer_id"
)


async def read_customer_totals(
    units: UnitsOfWork, ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Each customer's number of orders and their totals' sum (an index-only scan of
    ``orders_customer_idx``, which carries the total)."""
    rows = await _TOTALS.fetch(units, {"ids": list(ids)})
    found = {row["customer_id"]: (row["orders"], int(row["spent"])) for row in rows}
    return {customer_id: found.get(customer_id, (0, 0)) for customer_id in ids}


_ITEMS_SQL = (
    f"SELECT order_id, product_id, product_name, quantity, unit_price, line_total, discount,"
    f" bill_discount, CAST(tax_rate * 100 AS integer) AS tax_rate, tax_amount"
    f" FROM order_items WHERE business_id = {TENANT} AND order_id = ANY(:ids)"
    f" ORDER BY order_id, line_no"
)
_ITEMS = text(_ITEMS_SQL)
_READ_ITEMS = ReadQuery(_ITEMS_SQL)


def _item(row: Any) -> OrderItemRecord:
    """From a row read by column name: the driver's record or a SQLAlchemy row's mapping."""
    return OrderItemRecord(
        product_id=row["product_id"],
        product_name=row["product_name"],
        quantity=row["quantity"],
        unit_price=row["unit_price"],
        line_total=row["line_total"],
        discount=row["discount"],
        bill_discount=row["bill_discount"],
        tax_rate=row["tax_rate"],
        tax_amount=row["tax_amount"],
    )


async def get_items(
    uow: UnitOfWork, order_ids: Sequence[int]
) -> dict[int, tuple[OrderItemRecord, ...]]:
    rows = await uow.execute(_ITEMS, {"ids": list(order_ids)})
    return by_order((row._mapping for row in rows), order_ids, _item)


async def read_items(
    units: UnitsOfWork, order_ids: Sequence[int]
) -> dict[int, tuple[OrderItemRecord, ...]]:
    """``get_items`` in one statement on the driver pool."""
    return by_order(await _READ_ITEMS.fetch(units, {"ids": list(order_ids)}), order_ids, _item)


@dataclass(frozen=True)
class PageRequest:
    """Up to ``limit`` orders of a customer older than order ``before`` (if any)."""

    customer_id: int
    before: int | None
    limit: int


_PAGES = text(
    f"SELECT r.n, {_COLUMNS}"
    f" FROM unnest(CAST(:customers AS bigint[]), CAST(:befores AS bigint[]),"
    f" CAST(:limits AS integer[])) WITH ORDINALITY AS r (customer_id, before, lim, n)"
    f" CROSS JOIN LATERAL (SELECT * FROM orders o"
    f"  WHERE o.business_id = {TENANT} AND o.customer_id = r.customer_id"
    f"  AND (r.before IS NULL OR o.id < r.before)"
    f"  ORDER BY o.id DESC LIMIT r.lim) o{_NUMBER}"
    f" ORDER BY r.n, o.id DESC"
)


async def customer_order_pages(
    uow: UnitOfWork, requests: Sequence[PageRequest]
) -> list[list[OrderRecord]]:
    """Each request's orders, newest first (``orders_customer_idx`` serves each one)."""
    pages: list[list[OrderRecord]] = [[] for _ in requests]
    rows = await uow.execute(
        _PAGES,
        {
            "customers": [r.customer_id for r in requests],
            "befores": [r.before for r in requests],
            "limits": [r.limit for r in requests],
        },
    )
    for row in rows:
        pages[row.n - 1].append(_order(row._mapping))
    return pages
