"""The corrections' tables follow the house rules in the database itself: append-only
for everyone, Row Level Security forced, and an order row lockable but not editable."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.services.retry import sqlstate
from tests.conftest import Tenant
from tests.integration.test_database_rules import (
    INSUFFICIENT_PRIVILEGE,
    refusal,
    scalar,
    transaction,
)
from tests.integration.test_verify_corrections import _corrected

NEW_TABLES = (
    "payment_reversals", "balance_adjustments", "order_voids", "order_returns",
    "order_return_items", "refunds",
)  # fmt: skip


@pytest.mark.parametrize("table", NEW_TABLES)
async def test_no_one_can_change_or_remove_a_correction(
    tenant: Tenant, owner_db: AsyncEngine, app_db: AsyncEngine, table: str
) -> None:
    await _corrected(tenant)
    for engine, message in ((app_db, "permission denied"), (owner_db, "is append-only")):
        for sql in (
            f"UPDATE {table} SET business_id = business_id WHERE business_id = :b",
            f"DELETE FROM {table} WHERE business_id = :b",
        ):
            async with transaction(engine, tenant.id) as connection:
                error = await refusal(connection, sql, b=tenant.id)
            assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
            assert message in str(error)
    async with transaction(owner_db, tenant.id) as connection:
        assert await scalar(connection, f"SELECT count(*) FROM {table} WHERE business_id = :b",
                            b=tenant.id) > 0  # fmt: skip


@pytest.mark.parametrize("table", NEW_TABLES)
async def test_row_level_security_is_forced_and_hides_other_tenants(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine, app_db: AsyncEngine, table: str
) -> None:
    await _corrected(tenant)
    async with transaction(owner_db, None) as connection:
        forced = await scalar(
            connection,
            "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = :t",
            t=table,
        )
    assert forced is True
    async with transaction(app_db, other_tenant.id) as connection:
        seen = await scalar(connection, f"SELECT count(*) FROM {table} WHERE business_id = :b",
                            b=tenant.id)  # fmt: skip
    assert seen == 0


async def test_the_service_role_may_lock_an_order_but_never_edit_it(
    tenant: Tenant, app_db: AsyncEngine
) -> None:
    await _corrected(tenant)
    async with transaction(app_db, tenant.id) as connection:
        locked = await scalar(
            connection,
            "SELECT count(*) FROM (SELECT id FROM orders WHERE business_id = :b FOR UPDATE) o",
            b=tenant.id,
        )
        assert locked > 0
        edit = "UPDATE orders SET note = 'edited' WHERE business_id = :b"
        error = await refusal(connection, edit, b=tenant.id)
    assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
    assert "is append-only" in str(error)
