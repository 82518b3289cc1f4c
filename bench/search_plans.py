"""The plans of docs/query-plans.md, *Search (issue 18)*: ``python -m bench.search_plans``.

Seeds a scratch database with the ``catalogue`` dataset (100,000 products and
100,000 customers in one business) beside two businesses of 20,000 each, then
prints, for each search statement of the service, ``EXPLAIN (ANALYZE, BUFFERS)
EXECUTE`` of it prepared as the service role with the tenant bound and a generic
plan (as the driver pool's sessions run them: ``$n`` parameters in the plan),
and the median and p95 execution time of 50 runs in the database (no HTTP:
``make bench`` measures that).  The scratch database is
dropped at the end.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.db.migrations import upgrade
from app.services import listing, product_lists
from app.services.product_lists import ProductSort, SortOrder
from app.services.reads import ReadQuery
from bench.catalogue import seed_catalogue
from bench.database import create_database, drop_database, pick_server

OTHERS = """
INSERT INTO businesses (name, currency, currency_minor_units)
SELECT 'Neighbour ' || g, 'INR', 2 FROM generate_series(1, 2) g;
INSERT INTO products (business_id, name, sku, price, barcode)
SELECT b.id, 'Product ' || md5(b.id || '-' || g), 'SKU-' || g, g, (700000000000 + g)::text
  FROM (SELECT id FROM businesses WHERE name LIKE 'Neighbour %') b, generate_series(1, 20000) g;
INSERT INTO customers (business_id, name, phone, credit_limit)
SELECT b.id, 'Customer ' || md5(b.id || '-' || g), '+91 95' || lpad(g::text, 8, '0'), 0
  FROM (SELECT id FROM businesses WHERE name LIKE 'Neighbour %') b, generate_series(1, 20000) g;
"""


def products(search: str, *, window: bool = False) -> tuple[ReadQuery, dict[str, Any]]:
    condition, params = listing.search_condition("p.search_text", search)
    statement = product_lists._products_statement(
        search=condition, category=False, status=False, low_stock=None, archived=False,
        sort=ProductSort.NAME, order=SortOrder.ASC, after=False, window=window,
    )  # fmt: skip
    return statement, {**params, "limit": 21, "window": listing.WINDOW}


def customers(search: str, *, window: bool = False) -> tuple[ReadQuery, dict[str, Any]]:
    condition, params = listing.search_condition("c.search_text", search)
    statement = listing._customers_statement(
        search=condition, owing=None, after=False, window=window
    )
    return statement, {**params, "limit": 21, "window": listing.WINDOW}


def _literal(arg: object) -> str:
    if arg is None:
        return "NULL"
    return str(arg) if isinstance(arg, int) else "'" + str(arg).replace("'", "''") + "'"


async def measure(
    url: str, business: int, cases: dict[str, tuple[ReadQuery, dict[str, Any]]]
) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "SET ROLE credit_ledger_app; SET plan_cache_mode = force_generic_plan; SET jit = off"
        )
        for title, (statement, params) in cases.items():
            args = statement.args({**params, "business_id": business})
            prepared = await connection.prepare(statement.sql)
            times = []
            for _ in range(50):
                started = time.perf_counter()
                rows = await prepared.fetch(*args)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            await connection.execute(f"PREPARE search AS {statement.sql}")
            values = ", ".join(_literal(arg) for arg in args)
            plan = await connection.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE search({values})"
            )
            await connection.execute("DEALLOCATE search")
            print(f"### {title}\n")
            print(f"{len(rows)} rows; 50 runs: median {statistics.median(times):.2f} ms,"
                  f" p95 {times[47]:.2f} ms\n")  # fmt: skip
            print("```")
            print("\n".join(row[0] for row in plan))
            print("```\n")
    finally:
        await connection.close()


def main() -> None:
    server = pick_server()
    url = create_database(server, prefix="credit_ledger_plans")
    try:
        upgrade(url)
        dataset = seed_catalogue(url)
        plain = make_url(url).set(drivername="postgresql").render_as_string(False)

        async def others() -> None:
            connection = await asyncpg.connect(plain)
            await connection.execute(OTHERS + "ANALYZE products; ANALYZE customers;")
            await connection.close()

        asyncio.run(others())
        rare = dataset.pools["search_term"][0]
        cases = {
            "products(search: 'rice'), common: the window holds the page": products(
                "rice", window=True
            ),
            "products(search: 'ri'), two characters: the window holds the page": products(
                "ri", window=True
            ),
            f"products(search: {rare!r}), a seeded fragment: the window": products(
                rare, window=True
            ),
            f"products(search: {rare!r}), then the trigram index": products(rare),
            "products(search: '1234567'), part of a barcode: the window": products(
                "1234567", window=True
            ),
            "products(search: '1234567'), then the trigram index": products("1234567"),
            "customers(search: 'customer 0'), common: the window holds the page": customers(
                "customer 0", window=True
            ),
            "customers(search: '6001234'), part of a phone: the window": customers(
                "6001234", window=True
            ),
            "customers(search: '6001234'), then the trigram index": customers("6001234"),
            "customers(search: 'r 9'), its trigrams in every row: the trigram index": (
                customers("r 9")
            ),
        }
        asyncio.run(measure(plain, dataset.business_id, cases))
    finally:
        drop_database(server, url)


if __name__ == "__main__":
    main()
