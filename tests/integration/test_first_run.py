"""What ``serve`` does to the database before serving: seed a demo only when it should."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.server import first_run
from app.services.demo import PRODUCTS, RICE, SALES
from tests.conftest import post_graphql

URL = "http://127.0.0.1:8000/graphql"


async def business_count(owner_db: AsyncEngine) -> int:
    async with owner_db.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM businesses"))).scalar_one())


async def test_with_database_url_and_no_seed_demo_nothing_is_created(
    settings: Settings, owner_db: AsyncEngine
) -> None:
    before = await business_count(owner_db)
    banner = await first_run(settings, embedded=False, graphql_url=URL)
    assert await business_count(owner_db) == before
    assert "Demo API key" not in banner
    assert "credit-ledger key create --business" in banner


async def test_seed_demo_creates_a_business_whose_printed_key_and_query_work(
    settings: Settings, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    before = await business_count(owner_db)
    banner = await first_run(replace(settings, seed_demo=True), embedded=False, graphql_url=URL)
    assert await business_count(owner_db) == before + 1
    key = re.search(r"Demo API key: +(\S+)", banner)
    query = re.search(r"Example query: (.+)", banner)
    assert key is not None
    assert query is not None
    answer = await post_graphql(http, query.group(1), token=key.group(1))
    assert "errors" not in answer, answer
    assert answer["data"]["viewer"]["business"]["name"] == "Demo Traders"
    assert answer["data"]["customer"]["creditLimit"] == "50000.00"
    sold = sum(units for sale in SALES for product, units in sale.lines if product == RICE)
    assert answer["data"]["product"]["stock"] == PRODUCTS[RICE][3] - sold
