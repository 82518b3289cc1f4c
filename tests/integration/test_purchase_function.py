"""The ``purchase`` database function re-checks what the service guarantees."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.services.retry import sqlstate
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product


@pytest.mark.parametrize(
    ("order", "quantities"),
    [("descending", [1, 1]), ("repeated", [1, 1]), ("ascending", [0, 1]), ("ascending", [1])],
)
async def test_the_database_refuses_unsorted_unmerged_or_empty_lines(
    tenant: Tenant, app_db: AsyncEngine, order: str, quantities: list[int]
) -> None:
    customer = int(await make_customer(tenant))
    a, b = int(await make_product(tenant)), int(await make_product(tenant))
    ids = {"descending": [b, a], "repeated": [a, a], "ascending": [a, b]}[order]
    async with app_db.connect() as connection:
        with pytest.raises(DBAPIError) as refused:
            await connection.execute(
                text(
                    "SELECT purchase(:b, :c, :ids, :q, :d, 0, '{}', '{}', '{}',"
                    " NULL, NULL, 'k', 'h', NULL)"
                ),
                {
                    "b": tenant.id,
                    "c": customer,
                    "ids": ids,
                    "q": quantities,
                    "d": [0] * len(quantities),
                },
            )
        await connection.rollback()
    assert sqlstate(refused.value) == "22023"


@pytest.mark.parametrize("function", ["purchase", "record_payment"])
async def test_write_functions_plan_their_statements_generically(
    owner_db: AsyncEngine, function: str
) -> None:
    """Migration 0004: without it, some statements were planned again on every call."""
    async with owner_db.connect() as connection:
        config = (
            await connection.execute(
                text("SELECT proconfig FROM pg_proc WHERE proname = :name"), {"name": function}
            )
        ).scalar_one()
    assert config == ["plan_cache_mode=force_generic_plan"]
