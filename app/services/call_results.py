"""Reading the ``jsonb`` answers of the server-side use-case functions.

``purchase`` and ``record_payment`` answer with an object tagged by ``result``;
the pieces every answer shares are decoded here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain.identity import CreatedBy
from app.domain.records import CustomerRecord
from app.domain.results import Missing


def timestamp(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def instant(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def customer_from_json(raw: dict[str, Any]) -> CustomerRecord:
    return CustomerRecord(
        id=int(raw["id"]),
        name=raw["name"],
        phone=raw["phone"],
        email=raw["email"],
        credit_limit=int(raw["creditLimit"]),
        payment_terms_days=int(raw["paymentTermsDays"]),
        own_payment_terms_days=raw["ownPaymentTermsDays"],
        balance=int(raw["balance"]),
        oldest_unpaid_at=timestamp(raw["oldestUnpaidAt"]),
        created_at=instant(raw["createdAt"]),
        archived_at=timestamp(raw.get("archivedAt")),
    )


def created_by_from_json(raw: dict[str, Any]) -> CreatedBy:
    """Who made it; answers stored before attribution (0018) name nobody."""
    return CreatedBy(raw.get("createdByUserId"), raw.get("createdByKeyId"))


def missing_from_json(raw: dict[str, Any]) -> Missing:
    return Missing(raw["what"], str(raw["id"]), archived=bool(raw.get("archived")))
