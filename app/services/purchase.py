"""A sale (``purchase``): one call to the ``purchase`` database function, one round trip.

The function binds the tenant, locks the customer (if the sale has one), checks
the idempotency key, queues for the products and locks them in ascending id,
runs the checkout (``app.domain.checkout``: discounts, tax, paid and credit
parts) and decides (every line's stock, the expected total, what was paid, the
credit limit on the credit part), then writes the order, the ledger charge, the
payments made at the counter, the items, the stock movements and the idempotency
record (migration ``0009_sales_at_the_counter``).  It runs as one implicit
transaction.  Its bill number is taken after the commit, in a batch with other
sales (``app.services.bills``), so that sales do not queue on the number; the
outcome of a new sale carries no number.

Round trips made while row locks are held: **1** (the call itself; the locks are
released by the commit that ends it).  The answer carries everything else the API
returns.

Lines are merged and sorted here first; the request hash covers the merged
lines, so one unit of A twice and two units of A once are the same request.  A
request without discounts or payments hashes as it did before they existed, so
a retry across the upgrade still finds its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app import metrics
from app.domain.purchases import (
    CreditLimitExceeded,
    InsufficientStock,
    OrderItemRecord,
    OrderRecord,
    PriceChanged,
    ProductNotActive,
    Purchased,
    PurchaseLine,
    SalePayment,
    ShortLine,
    merge_lines,
)
from app.domain.results import FieldProblem, Invalid, KeyReused, Missing
from app.services.audit_entries import AnswerAudit
from app.services.call_results import (
    created_by_from_json,
    customer_from_json,
    instant,
    missing_from_json,
)
from app.services.idempotency import request_hash
from app.services.payments import payment_from_json
from app.services.unit_of_work import DriverStatement, UnitsOfWork

OPERATION = "purchase"

PurchaseOutcome = (
    Purchased | InsufficientStock | CreditLimitExceeded | PriceChanged | ProductNotActive
    | Missing | KeyReused | Invalid
)  # fmt: skip

_PURCHASE = DriverStatement(
    "SELECT purchase(:business_id, :customer_id, CAST(:product_ids AS bigint[]),"
    " CAST(:quantities AS bigint[]), CAST(:discounts AS bigint[]), :bill_discount,"
    " CAST(:amounts AS bigint[]), CAST(:methods AS text[]), CAST(:references AS text[]),"
    " :expected_total, :note, :key, :hash, :sold_at, :actor_user_id, :actor_key_id)"
)

AUDIT = AnswerAudit(
    target_type="Order",
    target_path=("order", "id"),
    outcomes={
        "completed": "PurchaseCompleted", "insufficient_stock": "InsufficientStock",
        "credit_limit_exceeded": "CreditLimitExceeded", "price_changed": "PriceChanged",
        "not_found": "NotFound", "invalid_input": "InvalidInput",
        "key_reused": "IdempotencyKeyReused",
    },
)  # fmt: skip
"""The audit entry, written by the call's own statement: no round trip is added while
the sale's locks are held."""


def purchase_hash(
    *, customer_id: int | None, lines: tuple[PurchaseLine, ...], bill_discount: int = 0,
    payments: Sequence[SalePayment] = (), expected_total: int | None, note: str | None,
) -> str:  # fmt: skip
    """The hash of a purchase request; ``lines`` must already be merged."""
    request: dict[str, Any] = {
        "customerId": customer_id,
        "lines": [[line.product_id, line.quantity] for line in lines],
        "expectedTotal": expected_total,
        "note": note,
    }
    if any(line.discount for line in lines):
        request["discounts"] = [line.discount for line in lines]
    if bill_discount:
        request["discount"] = bill_discount
    if payments:
        request["payments"] = [[p.amount, p.method.value, p.reference] for p in payments]
    return request_hash(OPERATION, request)


async def purchase(
    units: UnitsOfWork,
    *,
    customer_id: int | None,
    lines: list[PurchaseLine],
    bill_discount: int = 0,
    payments: Sequence[SalePayment] = (),
    expected_total: int | None,
    note: str | None,
    idempotency_key: str,
    sold_at: datetime | None = None,
) -> PurchaseOutcome:
    """``sold_at`` is ``None`` (now) but for history written in the past: the demo's
    (``app.services.demo``).  Entries of one customer must then be written in time
    order: the ledger moves an entry dated before the customer's last one up to it."""
    merged = merge_lines(lines)
    answer = await units.call(
        _PURCHASE,
        {
            "customer_id": customer_id,
            "product_ids": [line.product_id for line in merged],
            "quantities": [line.quantity for line in merged],
            "discounts": [line.discount for line in merged],
            "bill_discount": bill_discount,
            "amounts": [payment.amount for payment in payments],
            "methods": [payment.method.value for payment in payments],
            "references": [payment.reference for payment in payments],
            "expected_total": expected_total,
            "note": note,
            "key": idempotency_key,
            "sold_at": sold_at,
            "hash": purchase_hash(
                customer_id=customer_id,
                lines=merged,
                bill_discount=bill_discount,
                payments=payments,
                expected_total=expected_total,
                note=note,
            ),
        },
        AUDIT,
    )
    # A problem with a merged line names the first line of the request for its product.
    first_line: dict[int, int] = {}
    for index, line in enumerate(lines):
        first_line.setdefault(line.product_id, index)
    line_numbers = [first_line[line.product_id] for line in merged]
    outcome = outcome_from_json(answer, idempotency_key, line_numbers)
    metrics.outcome(metrics.SALES, outcome)
    return outcome


def order_from_json(raw: dict[str, Any]) -> OrderRecord:
    """An order as the function answered it; answers stored before 0009 lack the sale's
    new fields, which then have their defaults (no discount, no tax, nothing paid)."""
    customer_id = raw["customerId"]
    return OrderRecord(
        id=int(raw["id"]),
        number=raw.get("number"),  # answers stored before 0014 have it
        customer_id=None if customer_id is None else int(customer_id),
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
                discount=int(item.get("discount", 0)),
                bill_discount=int(item.get("billDiscount", 0)),
                tax_rate=int(item.get("taxRate", 0)),
                tax_amount=int(item.get("taxAmount", 0)),
            )
            for item in raw["items"]
        ),
        discount_total=int(raw.get("discountTotal", 0)),
        bill_discount=int(raw.get("billDiscount", 0)),
        tax_total=int(raw.get("taxTotal", 0)),
        prices_include_tax=bool(raw.get("pricesIncludeTax", False)),
        paid_amount=int(raw.get("paidAmount", 0)),
        payments=tuple(payment_from_json(p) for p in raw.get("payments", ())),
        created_by=created_by_from_json(raw),
    )


def _invalid(problems: list[dict[str, Any]], line_numbers: Sequence[int]) -> Invalid:
    fields = [
        FieldProblem(
            f"items[{line_numbers[p['line']]}].{p['field']}" if "line" in p else p["field"],
            p["message"],
        )
        for p in problems
    ]
    return Invalid(fields, f"{fields[0].field}: {fields[0].message}")


def outcome_from_json(
    answer: dict[str, Any], idempotency_key: str, line_numbers: Sequence[int] = ()
) -> PurchaseOutcome:
    """The domain result of the function's answer; ``line_numbers[i]`` is the request's
    line that merged line ``i`` is named after in a field problem."""
    result = answer["result"]
    if result == "completed":
        customer = answer["customer"]
        return Purchased(
            order=order_from_json(answer["order"]),
            customer=None if customer is None else customer_from_json(customer),
            replayed=bool(answer.get("replayed")),
        )
    if result == "invalid_input":
        return _invalid(answer["problems"], line_numbers)
    if result == "not_found":
        return missing_from_json(answer)
    if result == "key_reused":
        return KeyReused(idempotency_key)
    return _refusal(answer)


def _refusal(
    answer: dict[str, Any],
) -> InsufficientStock | CreditLimitExceeded | PriceChanged | ProductNotActive:
    result = answer["result"]
    if result == "product_not_active":
        return ProductNotActive(int(answer["productId"]), answer["status"])
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
            credit_amount=int(answer["creditAmount"]),
        )
    if result == "price_changed":
        return PriceChanged(int(answer["expectedTotal"]), int(answer["actualTotal"]))
    raise ValueError(f"unexpected purchase result {result!r}")
