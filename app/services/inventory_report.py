"""Products for the inventory report, a page at a time in id order (keyset), so a
large catalogue is streamed rather than held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache

from app.services.product_lists import LOW_STOCK, MINIMUM, RESTOCKED
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork

PAGE = 500


@dataclass(frozen=True)
class ProductStock:
    id: int
    sku: str
    name: str
    price: int
    stock: int
    threshold: int
    low: bool


@cache
def _page() -> ReadQuery:
    return ReadQuery(
        f"""
        SELECT p.id, p.sku, p.name, p.price, p.stock, {MINIMUM} AS threshold,
               {RESTOCKED} AND {LOW_STOCK} AS low
          FROM products p
         CROSS JOIN (SELECT low_stock_default FROM businesses WHERE id = {TENANT}) s
         WHERE p.business_id = {TENANT} AND p.archived_at IS NULL AND p.id > :after
         ORDER BY p.id LIMIT :limit
        """
    )


async def product_pages(units: UnitsOfWork) -> AsyncIterator[list[ProductStock]]:
    """Products not archived, ``PAGE`` at a time."""
    after = 0
    while True:
        rows = await _page().fetch(units, {"after": after, "limit": PAGE})
        yield [ProductStock(**dict(row)) for row in rows]
        if len(rows) < PAGE:
            return
        after = rows[-1]["id"]
