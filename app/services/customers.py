"""Customers: create, update, look up.  The tenant is bound by the unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from app.domain.records import CustomerRecord
from app.domain.results import Invalid, Missing
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitOfWork, UnitsOfWork

CUSTOMER_COLUMNS = """
    c.id, c.name, c.phone, c.email, c.credit_limit,
    coalesce(c.payment_terms_days, b.payment_terms_days) AS payment_terms_days,
    c.payment_terms_days AS own_payment_terms_days,
    c.balance, c.oldest_unpaid_at, c.created_at, c.archived_at
"""
CUSTOMER_FROM = "customers c JOIN businesses b ON b.id = c.business_id"


def customer_from_row(row: Any) -> CustomerRecord:
    return CustomerRecord(
        id=row["id"],
        name=row["name"],
        phone=row["phone"],
        email=row["email"],
        credit_limit=row["credit_limit"],
        payment_terms_days=row["payment_terms_days"],
        own_payment_terms_days=row["own_payment_terms_days"],
        balance=row["balance"],
        oldest_unpaid_at=row["oldest_unpaid_at"],
        created_at=row["created_at"],
        archived_at=row["archived_at"],
    )


_BY_IDS_SQL = (
    f"SELECT {CUSTOMER_COLUMNS} FROM {CUSTOMER_FROM}"
    f" WHERE c.business_id = {TENANT} AND c.id = ANY(:ids)"
)
_BY_IDS = text(_BY_IDS_SQL)
_READ_BY_IDS = ReadQuery(_BY_IDS_SQL)


async def get_customers(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, CustomerRecord]:
    """Inside a transaction, which may have just written them."""
    rows = await uow.execute(_BY_IDS, {"ids": list(ids)})
    return {row.id: customer_from_row(row._mapping) for row in rows}


async def read_customers(units: UnitsOfWork, ids: Sequence[int]) -> dict[int, CustomerRecord]:
    """Outside any transaction: one statement on the driver pool (``UnitsOfWork.read``)."""
    rows = await _READ_BY_IDS.fetch(units, {"ids": list(ids)})
    return {row["id"]: customer_from_row(row) for row in rows}


async def get_customer(uow: UnitOfWork, customer_id: int) -> CustomerRecord | None:
    return (await get_customers(uow, [customer_id])).get(customer_id)


@dataclass(frozen=True)
class NewCustomer:
    name: str
    phone: str | None
    email: str | None
    credit_limit: int
    payment_terms_days: int | None


_INSERT = text(
    f"INSERT INTO customers (business_id, name, phone, email, credit_limit, payment_terms_days)"
    f" VALUES ({TENANT}, :name, :phone, :email,"
    " :credit_limit, :payment_terms_days) RETURNING id"
)


async def create_customer(uow: UnitOfWork, *, customer: NewCustomer) -> CustomerRecord:
    new_id = (await uow.execute(_INSERT, vars(customer))).scalar_one()
    uow.audit_target(new_id)
    created = await get_customer(uow, new_id)
    assert created is not None
    await uow.commit()
    return created


UPDATABLE = ("name", "phone", "email", "credit_limit", "payment_terms_days")


async def update_customer(
    uow: UnitOfWork, *, customer_id: int, changes: dict[str, Any]
) -> CustomerRecord | Missing | Invalid:
    """Apply ``changes`` (a subset of ``UPDATABLE``; ``None`` clears a field)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = "".join(f", {column} = :{column}" for column in changes)
    statement = text(
        f"UPDATE customers SET updated_at = now(){assignments}"
        f" WHERE business_id = {TENANT} AND id = :id RETURNING id"
    )
    before = await get_customer(uow, customer_id)
    updated = (await uow.execute(statement, {**changes, "id": customer_id})).first()
    if updated is None:
        return Missing("Customer", str(customer_id))
    record = await get_customer(uow, customer_id)
    assert record is not None
    uow.audit_change(before, record)
    await uow.commit()
    return record
