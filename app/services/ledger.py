"""Customers' ledger entries, newest first, for many customers in one statement.

Newest first means by id, descending (``credit_ledger_customer_idx``): purchases
and payments lock the customer row before they insert its entry, so a
customer's entry ids increase in the order the entries were applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from app.domain.identity import NOBODY, CreatedBy
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork


class LedgerEntryRecord(NamedTuple):
    id: int
    customer_id: int
    kind: str
    amount: int
    balance_after: int
    created_at: datetime
    order_id: int | None
    payment_id: int | None
    created_by: CreatedBy = NOBODY


_PAGES = ReadQuery(
    f"""
    SELECT l.id, l.customer_id, l.kind, l.amount, l.balance_after, l.created_at,
           l.order_id, l.payment_id, l.created_by_user_id, l.created_by_key_id
      FROM unnest(CAST(:ids AS bigint[])) AS k(customer_id)
     CROSS JOIN LATERAL (
           SELECT * FROM credit_ledger l
            WHERE l.business_id = {TENANT} AND l.customer_id = k.customer_id
              AND l.id < :before_id
            ORDER BY l.id DESC LIMIT :limit) l
     ORDER BY l.customer_id, l.id DESC
    """
)


async def ledger_pages(
    units: UnitsOfWork, *, customer_ids: Sequence[int], limit: int, before_id: int | None
) -> dict[int, list[LedgerEntryRecord]]:
    """Up to ``limit`` entries per customer older than entry ``before_id``, newest first."""
    params = {
        "ids": sorted(set(customer_ids)),
        "limit": limit,
        "before_id": 2**63 - 1 if before_id is None else before_id,
    }
    pages: dict[int, list[LedgerEntryRecord]] = {customer_id: [] for customer_id in customer_ids}
    for row in await _PAGES.fetch(units, params):
        pages[row["customer_id"]].append(
            LedgerEntryRecord(
                id=row["id"],
                customer_id=row["customer_id"],
                kind=row["kind"],
                amount=row["amount"],
                balance_after=row["balance_after"],
                created_at=row["created_at"],
                order_id=row["order_id"],
                payment_id=row["payment_id"],
                created_by=CreatedBy(row["created_by_user_id"], row["created_by_key_id"]),
            )
        )
    return pages
