"""Keyset-paginated lists of customers and products, and balances by id.

Lists are ordered by (name, id) and read from the (business_id, name, id)
indexes: a page after a cursor is an index range scan that stops after
``limit`` rows, however deep the page.  ``search`` is a case-insensitive
substring of the name or the phone (customers: of the generated, lower-cased
``search_text``) or of the name or the SKU (products).  No index serves a
substring under Row Level Security (``LIKE`` is not leakproof), so a search
filters all the business's rows first and sorts the matches: walking the name
index instead is quick when matches are common but visits every row in name
order when they are rare (about 5x slower at 100,000 customers), and a cached
generic plan would always walk it.  Each combination of filters is its own
constant statement, so every statement has a stable plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from app.domain.overdue import OverdueStatus
from app.domain.records import CustomerRecord, ProductRecord
from app.services.as_of import AS_OF, CACHED_POSITION, CUTOFF
from app.services.catalog import PRODUCT_COLUMNS, product_from_row
from app.services.customers import CUSTOMER_COLUMNS, CUSTOMER_FROM, customer_from_row
from app.services.overdue import STATUS_COLUMNS, status_from_row
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork


def like_pattern(search: str) -> str:
    """A LIKE pattern matching ``search`` literally anywhere in the text."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@cache
def _customers_statement(
    *, search: bool, owing: bool | None, after: bool, overdue: bool = False, archived: bool = False
) -> ReadQuery:
    """With ``overdue``, each row also carries its overdue status now (``STATUS_COLUMNS``);
    with ``archived``, archived customers are listed too."""
    conditions = [f"c.business_id = {TENANT}"]
    if not archived:
        conditions.append("c.archived_at IS NULL")
    if search:
        conditions.append("c.search_text LIKE lower(:pattern)")
    if owing is not None:
        conditions.append("c.balance > 0" if owing else "c.balance <= 0")
    if after:
        conditions.append("(c.name, c.id) > (:after_name, :after_id)")
    where = " AND ".join(conditions)
    columns, source, ctes = CUSTOMER_COLUMNS, CUSTOMER_FROM, []
    if overdue:
        columns += f", {STATUS_COLUMNS}"
        source += f" CROSS JOIN q {CUTOFF} {CACHED_POSITION}"
        ctes.append(AS_OF)
    if search:
        ctes.append(f"matches AS MATERIALIZED (SELECT c.* FROM customers c WHERE {where})")
        source = source.replace("customers c", "matches c")
        where = "true"
    with_ = f"WITH {', '.join(ctes)}" if ctes else ""
    return ReadQuery(
        f"{with_} SELECT {columns} FROM {source} WHERE {where} ORDER BY c.name, c.id LIMIT :limit"
    )


class ListedCustomer(NamedTuple):
    record: CustomerRecord
    overdue_now: OverdueStatus | None


async def customers_page(
    units: UnitsOfWork,
    *,
    limit: int,
    after: tuple[str, int] | None,
    search: str | None,
    owing: bool | None,
    overdue: bool = False,
    include_archived: bool = False,
) -> list[ListedCustomer]:
    """Up to ``limit`` customers after the (name, id) ``after``, ordered by name then id.

    ``owing``: ``True`` keeps positive balances, ``False`` the rest, ``None`` everyone.
    With ``overdue``, each customer's overdue status now is read in the same statement.
    """
    statement = _customers_statement(
        search=bool(search), owing=owing, after=after is not None, overdue=overdue,
        archived=include_archived,
    )  # fmt: skip
    params: dict[str, Any] = {"limit": limit}
    if search:
        params["pattern"] = like_pattern(search)
    if after is not None:
        params["after_name"], params["after_id"] = after
    if overdue:
        params["as_of"] = None
    rows = await statement.fetch(units, params)
    return [
        ListedCustomer(customer_from_row(row), status_from_row(row) if overdue else None)
        for row in rows
    ]


@cache
def _products_statement(*, search: bool, after: bool, archived: bool = False) -> ReadQuery:
    conditions = [f"p.business_id = {TENANT}"]
    if not archived:
        conditions.append("p.archived_at IS NULL")
    if search:
        conditions.append("(p.name ILIKE :pattern OR p.sku ILIKE :pattern)")
    if after:
        conditions.append("(p.name, p.id) > (:after_name, :after_id)")
    return ReadQuery(
        f"SELECT {PRODUCT_COLUMNS} FROM products p"
        f" WHERE {' AND '.join(conditions)} ORDER BY p.name, p.id LIMIT :limit"
    )


async def products_page(
    units: UnitsOfWork,
    *,
    limit: int,
    after: tuple[str, int] | None,
    search: str | None,
    include_archived: bool = False,
) -> list[ProductRecord]:
    statement = _products_statement(
        search=bool(search), after=after is not None, archived=include_archived
    )
    params: dict[str, Any] = {"limit": limit}
    if search:
        params["pattern"] = like_pattern(search)
    if after is not None:
        params["after_name"], params["after_id"] = after
    rows = await statement.fetch(units, params)
    return [product_from_row(row) for row in rows]


class Balance(NamedTuple):
    customer_id: int
    balance: int
    credit_limit: int

    @property
    def available_credit(self) -> int:
        return max(self.credit_limit - self.balance, 0)


_BALANCES = ReadQuery(
    "SELECT c.id, c.balance, c.credit_limit FROM customers c"
    f" WHERE c.business_id = {TENANT} AND c.id = ANY(CAST(:ids AS bigint[]))"
)


async def balances(units: UnitsOfWork, *, customer_ids: Sequence[int]) -> dict[int, Balance]:
    rows = await _BALANCES.fetch(units, {"ids": list(customer_ids)})
    return {row["id"]: Balance(row["id"], row["balance"], row["credit_limit"]) for row in rows}
