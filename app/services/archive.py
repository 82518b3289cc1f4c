"""Archiving customers and products: a soft delete that keeps every row's history.

An archived row can still be read by id and keeps its orders, ledger and stock
movements; lists leave it out unless asked, and a purchase refuses it (migration
``0013_corrections``).  Archiving twice keeps the first instant; unarchiving
clears it.  Only ``archived_at`` changes: the service role may update no other
column of either table for this.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy import text

from app.domain.records import CustomerRecord, ProductRecord
from app.domain.results import Missing
from app.services.catalog import get_product
from app.services.customers import get_customer
from app.services.unit_of_work import TENANT, UnitOfWork


class Archivable(Enum):
    CUSTOMER = "customers"
    PRODUCT = "products"


def _statement(table: Archivable) -> str:
    return (
        f"UPDATE {table.value} SET archived_at = CASE WHEN :archived"
        f" THEN coalesce(archived_at, now()) END"
        f" WHERE business_id = {TENANT} AND id = :id RETURNING id"
    )


_SET = {table: text(_statement(table)) for table in Archivable}


async def _set(uow: UnitOfWork, table: Archivable, row_id: int, *, archived: bool) -> bool:
    found = await uow.execute(_SET[table], {"id": row_id, "archived": archived})
    return found.first() is not None


async def set_customer_archived(
    uow: UnitOfWork, *, customer_id: int, archived: bool
) -> CustomerRecord | Missing:
    before = await get_customer(uow, customer_id)
    if not await _set(uow, Archivable.CUSTOMER, customer_id, archived=archived):
        return Missing("Customer", str(customer_id))
    record = await get_customer(uow, customer_id)
    assert record is not None
    uow.audit_change(before, record)
    await uow.commit()
    return record


async def set_product_archived(
    uow: UnitOfWork, *, product_id: int, archived: bool
) -> ProductRecord | Missing:
    before = await get_product(uow, product_id)
    if not await _set(uow, Archivable.PRODUCT, product_id, archived=archived):
        return Missing("Product", str(product_id))
    record = await get_product(uow, product_id)
    assert record is not None
    uow.audit_change(before, record)
    await uow.commit()
    return record
