"""Keyset-paginated lists of customers and products, and balances by id.

Lists are ordered by (name, id) and read from the (business_id, name, id)
indexes: a page after a cursor is an index range scan that stops after
``limit`` rows, however deep the page.  ``search`` is a case-insensitive
substring of the name or the phone (customers) or the name or the SKU
(products).  Each combination of filters is its own constant statement, so
every statement has a stable plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import text

from app.domain.records import CustomerRecord, ProductRecord
from app.services.catalog import PRODUCT_COLUMNS, product_from_row
from app.services.customers import CUSTOMER_COLUMNS, CUSTOMER_FROM, customer_from_row
from app.services.unit_of_work import TENANT, UnitOfWork


def like_pattern(search: str) -> str:
    """A LIKE pattern matching ``search`` literally anywhere in the text."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@cache
def _customers_statement(*, search: bool, owing: bool | None, after: bool) -> Any:
    conditions = [f"c.business_id = {TENANT}"]
    if search:
        conditions.append("(c.name ILIKE :pattern OR c.phone ILIKE :pattern)")
    if owing is not None:
        conditions.append("c.balance > 0" if owing else "c.balance <= 0")
    if after:
        conditions.append("(c.name, c.id) > (:after_name, :after_id)")
    return text(
        f"SELECT {CUSTOMER_COLUMNS} FROM {CUSTOMER_FROM}"
        f" WHERE {' AND '.join(conditions)} ORDER BY c.name, c.id LIMIT :limit"
    )


async def customers_page(
    uow: UnitOfWork,
    *,
    limit: int,
    after: tuple[str, int] | None,
    search: str | None,
    owing: bool | None,
) -> list[CustomerRecord]:
    """Up to ``limit`` customers after the (name, id) ``after``, ordered by name then id.

    ``owing``: ``True`` keeps positive balances, ``False`` the rest, ``None`` everyone.
    """
    statement = _customers_statement(search=bool(search), owing=owing, after=after is not None)
    params: dict[str, Any] = {"limit": limit}
    if search:
        params["pattern"] = like_pattern(search)
    if after is not None:
        params["after_name"], params["after_id"] = after
    rows = await uow.execute(statement, params)
    return [customer_from_row(row) for row in rows]


@cache
def _products_statement(*, search: bool, after: bool) -> Any:
    conditions = [f"p.business_id = {TENANT}"]
    if search:
        conditions.append("(p.name ILIKE :pattern OR p.sku ILIKE :pattern)")
    if after:
        conditions.append("(p.name, p.id) > (:after_name, :after_id)")
    return text(
        f"SELECT {PRODUCT_COLUMNS} FROM products p"
        f" WHERE {' AND '.join(conditions)} ORDER BY p.name, p.id LIMIT :limit"
    )


async def products_page(
    uow: UnitOfWork, *, limit: int, after: tuple[str, int] | None, search: str | None
) -> list[ProductRecord]:
    statement = _products_statement(search=bool(search), after=after is not None)
    params: dict[str, Any] = {"limit": limit}
    if search:
        params["pattern"] = like_pattern(search)
    if after is not None:
        params["after_name"], params["after_id"] = after
    rows = await uow.execute(statement, params)
    return [product_from_row(row) for row in rows]


@dataclass(frozen=True)
class Balance:
    customer_id: int
    balance: int
    credit_limit: int

    @property
    def available_credit(self) -> int:
        return max(self.credit_limit - self.balance, 0)


_BALANCES = text(
    "SELECT c.id, c.balance, c.credit_limit FROM customers c"
    f" WHERE c.business_id = {TENANT} AND c.id = ANY(CAST(:ids AS bigint[]))"
)


async def balances(uow: UnitOfWork, *, customer_ids: Sequence[int]) -> dict[int, Balance]:
    rows = await uow.execute(_BALANCES, {"ids": list(customer_ids)})
    return {row.id: Balance(row.id, row.balance, row.credit_limit) for row in rows}
