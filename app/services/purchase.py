"""Purchase: one call to the ``purchase`` database function, one round trip.

The function binds the tenant, locks the customer, checks the idempotency key,
reads the products and decides (every line's stock, the expected total, the
credit limit), writes the order, the ledger charge and the idempotency record,
then locks the products in ascending id, checks on the locked values that the
decision stands, and writes the items and the stock movements (migrations
``0002_purchase_and_payment`` and ``0006_short_product_locks``).  It runs as one
implicit transaction.  When the locked values decide otherwise it raises
``serialization_failure`` and ``with_retries`` calls it again.

Round trips made while row locks are held: **1** (the call itself; the locks are
released by the commit that ends it).  The answer carries everything the API
returns, so no query follows it either.

Lines are merged and sorted here first; the request hash covers the merged
lines, so one unit of A twice and two units of A once are the same request.
"""

from __future__ import annotations

from typing import Any

from app.domain.purchases import (
    CreditLimitExceeded,
    InsufficientStock,
    OrderItemRecord,
    OrderRecord,
    PriceChanged,
    Purchased,
    PurchaseLine,
    ShortLine,
    merge_lines,
)
from app.domain.results import KeyReused, Missing
from app.services.call_results import customer_from_json, instant, missing_from_json
from app.services.idempotency import request_hash
from app.services.unit_of_work import DriverStatement, UnitsOfWork

OPERATION = "purchase"

PurchaseOutcome = (
    Purchased | InsufficientStock | CreditLimitExceeded | PriceChanged | Missing | KeyReused
)

_PURCHASE = DriverStatement(
    "SELECT purchase(:business_id, :customer_id, CAST(:product_ids AS bigint[]),"
    " CAST(:quantities AS bigint[]), :expected_total, :note, :key, :hash)"
)


def purchase_hash(
    *, customer_id: int, lines: tuple[PurchaseLine, ...], expected_total: int | None,
    note: str | None,
) -> str:  # fmt: skip
    """The hash of a purchase request; ``lines`` must already be merged."""
    return request_hash(
        OPERATION,
        {
            "customerId": customer_id,
            "lines": [[line.product_id, line.quantity] for line in lines],
            "expectedTotal": expected_total,
            "note": note,
        },
    )


async def purchase(
    units: UnitsOfWork,
    *,
    customer_id: int,
    lines: list[PurchaseLine],
    expected_total: int | None,
    note: str | None,
    idempotency_key: str,
) -> PurchaseOutcome:
    merged = merge_lines(lines)
    answer = await units.call(
        _PURCHASE,
        {
            "customer_id": customer_id,
            "product_ids": [line.product_id for line in merged],
            "quantities": [line.quantity for line in merged],
            "expected_total": expected_total,
            "note": note,
            "key": idempotency_key,
            "hash": purchase_hash(
                customer_id=customer_id, lines=merged, expected_total=expected_total, note=note
            ),
        },
    )
    return outcome_from_json(answer, idempotency_key)


def order_from_json(raw: dict[str, Any]) -> OrderRecord:
    return OrderRecord(
        id=int(raw["id"]),
        number=raw["number"],
        customer_id=int(raw["customerId"]),
        total=int(raw["total"]),
        note=raw["note"],
        created_at=instant(raw["createdAt"]),
        items=tuple(
            OrderItemRecord(
                product_id=int(item["productId"]),
                product_name=item["productName"],
                quantity=int(item["quantity"]),
                unit_price=int(item["unitPrice"]),
                line_total=int(item["lineTotal"]),
            )
            for item in raw["items"]
        ),
    )


def outcome_from_json(answer: dict[str, Any], idempotency_key: str) -> PurchaseOutcome:
    result = answer["result"]
    if result == "completed":
        return Purchased(
            order=order_from_json(answer["order"]),
            customer=customer_from_json(answer["customer"]),
            replayed=bool(answer.get("replayed")),
        )
    if result == "insufficient_stock":
        return InsufficientStock(
            tuple(
                ShortLine(int(line["productId"]), int(line["requested"]), int(line["available"]))
                for line in answer["lines"]
            )
        )
    if result == "credit_limit_exceeded":
        return CreditLimitExceeded(
            credit_limit=int(answer["creditLimit"]),
            balance=int(answer["balance"]),
            order_total=int(answer["orderTotal"]),
        )
    if result == "price_changed":
        return PriceChanged(int(answer["expectedTotal"]), int(answer["actualTotal"]))
    if result == "not_found":
        return missing_from_json(answer)
    if result == "key_reused":
        return KeyReused(idempotency_key)
    raise ValueError(f"unexpected purchase result {result!r}")
