"""Search uses its trigram index under forced RLS, as docs/query-plans.md records, and
answers the same without it.

The statements are the service's own (``app.services.product_lists`` and
``listing``), run as the service role with the tenant bound and generic plans, in
one transaction of the owner that seeds a business of 20,000 products and 20,000
customers beside two as big, and is rolled back.  It has a database of its own: in
the suite's, hundreds of small test businesses would make the generic plan expect a
few rows per business, which is not the case the plan is recorded for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app.db.migrations import upgrade
from app.services import listing, product_lists
from app.services.product_lists import ProductSort, SortOrder
from app.services.reads import ReadQuery
from tests.db import create_database, drop_database

ROWS = 20_000
SEED = f"""
INSERT INTO businesses (name, currency, currency_minor_units)
SELECT 'Search ' || g, 'INR', 2 FROM generate_series(1, 3) g;
INSERT INTO products (business_id, name, sku, price)
SELECT b.id, 'Product ' || md5(b.id || '-' || g), 'SKU-' || g, g
  FROM (SELECT id FROM businesses ORDER BY id DESC LIMIT 3) b, generate_series(1, {ROWS}) g;
INSERT INTO customers (business_id, name, phone, credit_limit)
SELECT b.id, 'Customer ' || md5('c' || b.id || '-' || g), '+91 ' || (9000000000 + g), 0
  FROM (SELECT id FROM businesses ORDER BY id DESC LIMIT 3) b, generate_series(1, {ROWS}) g;
ANALYZE products;
ANALYZE customers;
"""


@pytest.fixture(scope="module")
async def own_database(server: str) -> AsyncIterator[str]:
    url = create_database(server, "credit_ledger_plans")
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        drop_database(server, url)


@pytest.fixture(scope="module")
async def seeded(own_database: str) -> AsyncIterator[tuple[asyncpg.Connection, int]]:
    """An owner connection inside a transaction, with a big business; rolled back after."""
    url = make_url(own_database).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(url)
    transaction = connection.transaction()
    await transaction.start()
    try:
        indexes = await connection.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE indexname IN"
            " ('products_search_idx', 'customers_search_idx')"
        )
        if indexes != 2:
            pytest.skip("this server has no pg_trgm: searches take the filtering path")
        await connection.execute(SEED)
        business = await connection.fetchval("SELECT max(id) FROM businesses")
        yield connection, business
    finally:
        await transaction.rollback()
        await connection.close()


async def as_service(connection: asyncpg.Connection, sql: str, args: list[Any]) -> Any:
    """``EXPLAIN ANALYZE`` of ``sql`` and its rows, as the service role with a generic plan."""
    await connection.execute(
        "SET LOCAL ROLE credit_ledger_app; SET LOCAL plan_cache_mode = force_generic_plan"
    )
    try:
        rows = await (await connection.prepare(sql)).fetch(*args)
        # EXPLAIN of a statement with parameters would plan it for their values:
        # EXPLAIN EXECUTE shows the generic plan the service's sessions keep.
        await connection.execute(f"PREPARE search AS {sql}")
        values = ", ".join(literal(arg) for arg in args)
        plan = json.loads(
            await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE search({values})")
        )
        await connection.execute("DEALLOCATE search")
    finally:
        await connection.execute("RESET ROLE")
    return plan, rows


def literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    assert isinstance(value, str)
    return "'" + value.replace("'", "''") + "'"


def index_scans(plan: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.add(f"{node['Node Type']} on {node['Index Name']}")
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def rows_read(plan: Any, index: str) -> int:
    """The rows the scans of ``index`` in ``plan`` answered, all loops together."""
    total = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal total
        if node.get("Index Name") == index:
            total += node["Actual Rows"] * node["Actual Loops"]
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return total


def product_search(
    search: str, business: int, *, window: bool = False, rows: int = listing.WINDOW
) -> tuple[str, list[Any]]:
    """The search statement; with ``window``, over the first ``rows`` products by name."""
    condition, params = listing.search_condition("p.search_text", search)
    statement: ReadQuery = product_lists._products_statement(
        search=condition, category=False, status=False, low_stock=None, archived=False,
        sort=ProductSort.NAME, order=SortOrder.ASC, after=False, window=window,
    )  # fmt: skip
    values = {**params, "limit": 21, "business_id": business, "window": rows}
    return statement.sql, statement.args(values)


def customer_search(
    search: str, business: int, *, window: bool = False, rows: int = listing.WINDOW
) -> tuple[str, list[Any]]:
    """The search statement; with ``window``, over the first ``rows`` customers by name."""
    condition, params = listing.search_condition("c.search_text", search)
    statement = listing._customers_statement(
        search=condition, owing=None, after=False, window=window
    )
    values = {**params, "limit": 21, "business_id": business, "window": rows}
    return statement.sql, statement.args(values)


async def test_product_search_reads_the_trigram_index_under_forced_rls(
    seeded: tuple[asyncpg.Connection, int],
) -> None:
    connection, business = seeded
    target = await connection.fetchval(
        "SELECT name FROM products WHERE business_id = $1 ORDER BY id OFFSET 777 LIMIT 1",
        business,
    )
    plan, rows = await as_service(connection, *product_search(target[10:18].upper(), business))
    assert "Bitmap Index Scan on products_search_idx" in index_scans(plan), plan
    assert [row["name"] for row in rows] == [target]


async def test_customer_search_reads_the_trigram_index_under_forced_rls(
    seeded: tuple[asyncpg.Connection, int],
) -> None:
    connection, business = seeded
    plan, rows = await as_service(connection, *customer_search("9000012345", business))
    assert "Bitmap Index Scan on customers_search_idx" in index_scans(plan), plan
    assert [row["phone"] for row in rows] == ["+91 9000012345"]


async def test_without_the_index_a_search_filters_the_business_and_answers_the_same(
    seeded: tuple[asyncpg.Connection, int],
) -> None:
    connection, business = seeded
    searches = ("abc", "PRODUCT 0", "sku-1234", "ab", "7")
    with_index = [await as_service(connection, *product_search(s, business)) for s in searches]
    savepoint = connection.transaction()
    await savepoint.start()
    try:
        await connection.execute("DROP INDEX products_search_idx")
        for search, (_, rows) in zip(searches, with_index, strict=True):
            plan, again = await as_service(connection, *product_search(search, business))
            assert not any("search_idx" in scan for scan in index_scans(plan))
            assert [row["id"] for row in again] == [row["id"] for row in rows]
            assert len(rows) == 21 or search == "sku-1234"
    finally:
        await savepoint.rollback()  # the index is back for whatever runs next


async def test_a_window_that_holds_a_whole_page_answers_as_the_index_does(
    seeded: tuple[asyncpg.Connection, int],
) -> None:
    connection, business = seeded
    held = 0
    for search in ("a", "ab", "abc", "product 0", "sku-1", "99"):
        plan, window = await as_service(connection, *product_search(search, business, window=True))
        # The walk reads the name index only (migration 0026); the table, for the page.
        assert "Index Only Scan on products_name_idx" in index_scans(plan), plan
        _, full = await as_service(connection, *product_search(search, business))
        if len(window) == 21:
            held += 1
            assert [row["id"] for row in window] == [row["id"] for row in full], search
        else:
            assert len(full) >= len(window)
    assert held >= 3


Statement = Callable[..., tuple[str, list[Any]]]


async def steps_to_the_page(
    connection: asyncpg.Connection, business: int, statement: Statement, searches: Sequence[str]
) -> dict[str, list[int | str]]:
    """The steps ``listing.first_page`` takes for each search (rows walked, or "index"),
    after checking that its page is the one the index answers."""
    steps: dict[str, list[int | str]] = {}
    for search in searches:
        taken = steps.setdefault(search, [])

        async def walk(rows: int, search: str = search, taken: list[int | str] = taken) -> Any:
            taken.append(rows)
            sql, args = statement(search, business, window=True, rows=rows)
            return (await as_service(connection, sql, args))[1]

        async def matches(search: str = search, taken: list[int | str] = taken) -> Any:
            taken.append("index")
            return (await as_service(connection, *statement(search, business)))[1]

        page = await listing.first_page(search, 21, walk, matches)
        _, full = await as_service(connection, *statement(search, business))
        assert [row["id"] for row in page] == [row["id"] for row in full], (search, taken)
    return steps


async def test_a_search_that_walks_further_answers_as_the_index_does(
    seeded: tuple[asyncpg.Connection, int],
) -> None:
    connection, business = seeded
    # One product in about 70 carries "zqx", spread over the name order: the first
    # window holds part of a page of them, which a walk further completes.  "wvy" is
    # in one product at the start of the name order and 20 at its end: one match in
    # the first window predicts a page too far to walk to, none predicts nothing.
    savepoint = connection.transaction()
    await savepoint.start()
    await connection.execute(
        "INSERT INTO products (business_id, name, sku, price) SELECT $1,"
        " 'Product ' || md5('zqx-' || g) || ' zqx', 'ZQX-' || g, g FROM generate_series(1, 300) g",
        business,
    )
    await connection.execute(
        "INSERT INTO products (business_id, name, sku, price) SELECT $1,"
        " CASE WHEN g = 0 THEN 'Aaa wvy' ELSE 'Zzz wvy ' || g END, 'WVY-' || g, g"
        " FROM generate_series(0, 20) g",
        business,
    )
    searches = ("zqx", "zq", "wvy", "zzz wvy", "a", "ab", "abc", "b7f", "product 0", "sku-1")
    steps = await steps_to_the_page(connection, business, product_search, searches)
    await savepoint.rollback()
    assert steps["zqx"][0] == steps["zq"][0] == listing.WINDOW
    assert steps["zqx"][1:] == steps["zq"][1:], steps  # not "index", walked further
    assert isinstance(steps["zqx"][-1], int), steps
    assert steps["wvy"] == [listing.WINDOW, "index"], steps  # too rare to walk for
    assert steps["zzz wvy"] == [listing.WINDOW, "index"], steps  # none in the window
    assert steps["product 0"] == [listing.WINDOW], steps


async def test_a_customer_search_by_walks_answers_as_the_index_does(
    seeded: tuple[asyncpg.Connection, int],
) -> None:
    connection, business = seeded
    searches = ("a", "ab", "abc", "customer 0", "9000012", "0001", "12")
    steps = await steps_to_the_page(connection, business, customer_search, searches)
    # The window's matches stream: a page found in it stops the walk of the name index.
    plan, _ = await as_service(connection, *customer_search("customer", business, window=True))
    assert "CTE Scan" not in json.dumps(plan), plan
    assert rows_read(plan, "customers_name_idx") == 21, plan
    assert steps["customer 0"] == [listing.WINDOW], steps
    # The walk reads the name index only (migration 0026); the table, for the page.
    assert "Index Only Scan on customers_name_idx" in index_scans(plan), plan
