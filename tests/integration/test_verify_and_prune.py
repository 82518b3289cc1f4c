"""``verify`` finds drift between caches and history; ``idempotency prune`` keeps 24 hours."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.services.verify import verify_business
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.purchases import buy, pay

CLI = Path(sys.executable).parent / "credit-ledger"


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command as an operator would, against the test database."""
    return subprocess.run(  # noqa: S603
        [str(CLI), *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _busy_tenant(tenant: Tenant) -> tuple[str, str]:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="2.00", stock=10)
    await buy(tenant, customer, [(product, 3)])
    await pay(tenant, customer, "1.50")
    return customer, product


@pytest.fixture
async def raw(owner_db: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """An owner connection with triggers off, to write what the service never could."""
    async with owner_db.connect() as connection:
        await connection.execute(text("SET session_replication_role = replica"))
        await connection.commit()
        yield connection
        await connection.execute(text("RESET session_replication_role"))
        await connection.commit()


async def _write(connection: AsyncConnection, sql: str, **params: Any) -> None:
    await connection.execute(text(sql), params)
    await connection.commit()


async def test_a_consistent_business_has_no_problems(
    tenant: Tenant, owner_db: AsyncEngine, app_db: AsyncEngine
) -> None:
    await _busy_tenant(tenant)
    assert await verify_business(owner_db, tenant.id) == []
    assert await verify_business(app_db, tenant.id) == []


async def test_verify_reports_stock_that_drifted_from_its_movements(
    tenant: Tenant, owner_db: AsyncEngine, raw: AsyncConnection
) -> None:
    _, product = await _busy_tenant(tenant)
    await _write(raw, "UPDATE products SET stock = stock + 1 WHERE id = :p", p=int(product))
    try:
        problems = await verify_business(owner_db, tenant.id)
    finally:
        await _write(raw, "UPDATE products SET stock = stock - 1 WHERE id = :p", p=int(product))
    assert [(p.check, p.subject) for p in problems] == [("product stock", f"product {product}")]
    assert "stock 8 != movements 7" in problems[0].detail


async def test_verify_reports_a_balance_and_a_ledger_chain_that_disagree(
    tenant: Tenant, owner_db: AsyncEngine, raw: AsyncConnection
) -> None:
    customer, _ = await _busy_tenant(tenant)
    await _write(
        raw,
        "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, balance_after,"
        " charged_total, credited_total, reverses_entry_id)"
        " SELECT business_id, customer_id, 'reversal', 100, 999, 999, 0, id FROM credit_ledger"
        " WHERE customer_id = :c ORDER BY id LIMIT 1",
        c=int(customer),
    )
    try:
        problems = await verify_business(owner_db, tenant.id)
    finally:
        await _write(
            raw, "DELETE FROM credit_ledger WHERE customer_id = :c AND kind = 'reversal'",
            c=int(customer),
        )  # fmt: skip
    # A reversal of 1.00 against a charge of 6.00 is also not the charge undone; and,
    # written without its triggers, it counts as a debit of 1.00 that the owed
    # summaries never heard of (its quarter hour and its day).
    assert sorted(p.check for p in problems) == [
        "customer balance", "ledger chain", "owed summaries", "owed summaries", "reversal",
    ]  # fmt: skip
    assert await verify_business(owner_db, tenant.id) == []


async def test_verify_reports_an_order_without_its_charge(
    tenant: Tenant, owner_db: AsyncEngine, raw: AsyncConnection
) -> None:
    customer, _ = await _busy_tenant(tenant)
    await _write(
        raw,
        "INSERT INTO orders (business_id, customer_id, total, note) VALUES (:b, :c, 500, 'HAND-1')",
        b=tenant.id,
        c=int(customer),
    )
    try:
        problems = await verify_business(owner_db, tenant.id)
    finally:
        await _write(
            raw, "DELETE FROM orders WHERE note = 'HAND-1' AND business_id = :b", b=tenant.id
        )
    assert [p.check for p in problems] == ["order total"]


async def test_the_verify_command_exits_non_zero_and_lists_problems(
    tenant: Tenant, database_url: str, raw: AsyncConnection
) -> None:
    _, product = await _busy_tenant(tenant)
    await _write(raw, "UPDATE products SET stock = stock + 5 WHERE id = :p", p=int(product))
    try:
        # Scoped to this tenant: other tests' tenants hold deliberately partial data.
        broken = cli(database_url, "verify", "--business", str(tenant.id), "--json")
    finally:
        await _write(raw, "UPDATE products SET stock = stock - 5 WHERE id = :p", p=int(product))
    assert broken.returncode == 1, broken.stderr
    report = orjson.loads(broken.stdout)
    assert report["ok"] is False
    assert {
        "businessId": str(tenant.id),
        "check": "product stock",
        "subject": f"product {product}",
        "detail": "stock 12 != movements 7",
    } in report["problems"]

    fine = cli(database_url, "verify", "--business", str(tenant.id))
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "ledger, balances and stock agree" in fine.stdout


async def test_prune_deletes_keys_older_than_the_given_age_and_never_under_a_day(
    tenant: Tenant, owner_db: AsyncEngine, database_url: str
) -> None:
    async with owner_db.begin() as connection:
        for key, hours in (("old", 30), ("day", 23)):
            await connection.execute(
                text(
                    "INSERT INTO idempotency_keys (business_id, key, operation, request_hash,"
                    " response, created_at) VALUES (:b, :k, 'purchase', 'h', '{}',"
                    " now() - make_interval(hours => :h))"
                ),
                {"b": tenant.id, "k": key, "h": hours},
            )

    refused = cli(database_url, "idempotency", "prune", "--older-than-hours", "12")
    assert refused.returncode != 0
    assert "at least 24 hours" in refused.stderr

    pruned = cli(database_url, "idempotency", "prune", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert orjson.loads(pruned.stdout)["deleted"] >= 1
    async with owner_db.connect() as connection:
        left = (
            await connection.execute(
                text("SELECT array_agg(key) FROM idempotency_keys WHERE business_id = :b"),
                {"b": tenant.id},
            )
        ).scalar_one()
    assert left == ["day"]


async def test_the_owner_policies_do_not_widen_what_the_service_role_sees(
    tenant: Tenant, owner_db: AsyncEngine, app_db: AsyncEngine
) -> None:
    async with owner_db.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO idempotency_keys (business_id, key, operation, request_hash,"
                " response, created_at)"
                " VALUES (:b, 'ancient', 'purchase', 'h', '{}', now() - interval '9 days')"
            ),
            {"b": tenant.id},
        )
    async with app_db.connect() as connection:
        businesses = (
            await connection.execute(text("SELECT count(*) FROM businesses"))
        ).scalar_one()
        keys = (
            await connection.execute(text("SELECT count(*) FROM idempotency_keys"))
        ).scalar_one()
        deleted = await connection.execute(text("DELETE FROM idempotency_keys"))
        await connection.rollback()
    assert (businesses, keys, deleted.rowcount) == (0, 0, 0)
