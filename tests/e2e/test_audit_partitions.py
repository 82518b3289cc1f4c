"""The audit trail's monthly partitions: old months detached for archiving, and a
month without a partition still takes rows (its DEFAULT partition)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Tenant
from tests.e2e.test_audit_trail import audit_log
from tests.e2e.test_cli import run_cli


async def test_old_months_are_detached_and_a_month_without_a_partition_still_takes_rows(
    tenant: Tenant, owner_db: AsyncEngine, database_url: str
) -> None:
    async with owner_db.begin() as connection:
        add = text("SELECT add_audit_partitions('2001-01-01', '2001-03-01')")
        created = (await connection.execute(add)).scalars().all()
        assert created == ["audit_log_y2001m01", "audit_log_y2001m02", "audit_log_y2001m03"]
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(tenant.id)}
        )
        for at in (datetime(2001, 2, 10, tzinfo=UTC), datetime(2099, 5, 1, tzinfo=UTC)):
            await connection.execute(
                text(
                    "INSERT INTO audit_log (business_id, at, actor_key_id, role, operation,"
                    " outcome, input) VALUES (:b, :at, 1, 'owner',"
                    " 'createCustomer', 'CustomerCreated', '{}')"
                ),
                {"b": tenant.id, "at": at},
            )

    detached = run_cli(database_url, "audit", "detach", "--before", "2001-03")

    assert detached.returncode == 0, detached.stderr
    assert detached.stdout.splitlines() == [
        "detached audit_log_y2001m01",
        "detached audit_log_y2001m02",
        "detached 2 audit partitions wholly before 2001-03; each is now a standalone table"
        " to archive",
    ]
    async with owner_db.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(tenant.id)}
        )
        archived = await connection.execute(text("SELECT count(*) FROM audit_log_y2001m02"))
        assert archived.scalar_one() == 1
        in_default = await connection.execute(text("SELECT count(*) FROM audit_log_default"))
        assert in_default.scalar_one() >= 1
    assert [e["at"][:4] for e in await audit_log(tenant)] == ["2099"]
    again = run_cli(database_url, "audit", "detach", "--before", "2001-03")
    assert again.stdout.strip() == "no attached audit partition lies wholly before 2001-03"
    assert run_cli(database_url, "audit", "detach", "--before", "2001-13").returncode == 2
