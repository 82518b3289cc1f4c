"""An audit entry commits with the effect it describes, or not at all."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.audit import AuditDraft
from app.services.unit_of_work import UnitOfWork
from tests.conftest import Tenant

_NEW_CUSTOMER = text(
    "INSERT INTO customers (business_id, name, credit_limit) VALUES (:business_id, 'Audited', 0)"
)


def _draft(business_id: int) -> AuditDraft:
    return AuditDraft(
        operation="createCustomer", success="CustomerCreated", input={"input": {"name": "x"}},
        business_id=business_id, actor_key_id=1, role="owner",
    )  # fmt: skip


async def _entries(owner_db: AsyncEngine, business_id: int) -> list[tuple[str, str]]:
    async with owner_db.connect() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
        )
        rows = await connection.execute(
            text("SELECT operation, outcome FROM audit_log WHERE business_id = :b ORDER BY id"),
            {"b": business_id},
        )
        return [tuple(row) for row in rows]


async def test_a_rolled_back_effect_leaves_no_entry_and_its_retry_writes_one(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine
) -> None:
    draft = _draft(tenant.id)

    async with UnitOfWork(app_db, tenant.id, audit=draft) as uow:
        await uow.execute(_NEW_CUSTOMER)  # left without commit: rolled back
    assert await _entries(owner_db, tenant.id) == []
    assert draft.written is None

    async with UnitOfWork(app_db, tenant.id, audit=draft) as uow:
        await uow.execute(_NEW_CUSTOMER)
        await uow.commit()
    async with UnitOfWork(app_db, tenant.id, audit=draft) as uow:
        await uow.commit()  # a second commit in the same call writes no second entry

    assert await _entries(owner_db, tenant.id) == [("createCustomer", "CustomerCreated")]
    assert draft.written == "CustomerCreated"
