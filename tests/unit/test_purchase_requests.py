"""Pure pieces of a purchase: merging lines, hashing requests, reading results, cursors."""

from __future__ import annotations

import pytest
from strawberry.exceptions import StrawberryGraphQLError

from app.domain.purchases import (
    CreditLimitExceeded,
    InsufficientStock,
    PaymentMethod,
    PriceChanged,
    Purchased,
    PurchaseLine,
    SalePayment,
    ShortLine,
    merge_lines,
)
from app.domain.results import Invalid, KeyReused, Missing
from app.graphql.pagination import decode_id, encode_cursor
from app.services.purchase import outcome_from_json, purchase_hash


def test_lines_for_one_product_are_merged_and_sorted_by_product_id() -> None:
    lines = [PurchaseLine(9, 1), PurchaseLine(3, 2), PurchaseLine(9, 4, 50), PurchaseLine(5, 1)]
    assert merge_lines(lines) == (
        PurchaseLine(3, 2), PurchaseLine(5, 1), PurchaseLine(9, 5, 50),
    )  # fmt: skip


def test_merging_no_lines_gives_no_lines() -> None:
    assert merge_lines([]) == ()


def _hash(lines: list[PurchaseLine], **changes: object) -> str:
    request: dict[str, object] = {"customer_id": 7, "expected_total": None, "note": None}
    request.update(changes)
    return purchase_hash(lines=merge_lines(lines), **request)  # type: ignore[arg-type]


def test_the_request_hash_is_stable_across_releases() -> None:
    # Stored keys hold this hash: changing the canonical form would turn every
    # retry after a deploy into IdempotencyKeyReused.
    assert _hash([PurchaseLine(3, 2), PurchaseLine(9, 1)]) == (
        "b359bd933b0d5ea149347732eb5f619cde29fb4e90ac034c531fbf473f429d71"
    )


def test_the_same_purchase_written_differently_hashes_the_same() -> None:
    assert _hash([PurchaseLine(9, 1), PurchaseLine(3, 1), PurchaseLine(3, 1)]) == _hash(
        [PurchaseLine(3, 2), PurchaseLine(9, 1)]
    )


@pytest.mark.parametrize(
    "changes",
    [{"customer_id": 8}, {"expected_total": 100}, {"note": "x"}, {"lines": [PurchaseLine(3, 3)]}],
)
def test_any_real_difference_changes_the_hash(changes: dict[str, object]) -> None:
    lines = changes.pop("lines", [PurchaseLine(3, 2)])
    assert _hash(lines, **changes) != _hash([PurchaseLine(3, 2)])  # type: ignore[arg-type]


ORDER = {
    "id": 41, "number": "ORD-000041", "customerId": 7, "total": 2500, "note": None,
    "createdAt": "2026-01-31T09:00:00.123456+00:00",
    "items": [{"productId": 3, "productName": "Rice", "quantity": 2, "unitPrice": 1250,
               "lineTotal": 2500}],
}  # fmt: skip
CUSTOMER = {
    "id": 7, "name": "Asha", "phone": None, "email": None, "creditLimit": 10000,
    "paymentTermsDays": 30, "ownPaymentTermsDays": None, "balance": 2500,
    "oldestUnpaidAt": "2026-01-31T09:00:00.123456+00:00",
    "createdAt": "2026-01-01T00:00:00+00:00",
}  # fmt: skip


def test_discounts_and_payments_change_the_hash_and_their_absence_does_not() -> None:
    plain = _hash([PurchaseLine(3, 2)])
    assert _hash([PurchaseLine(3, 2)], bill_discount=0, payments=()) == plain
    assert _hash([PurchaseLine(3, 2, discount=1)]) != plain
    assert _hash([PurchaseLine(3, 2)], bill_discount=1) != plain
    cash = SalePayment(100, PaymentMethod.CASH, None)
    assert _hash([PurchaseLine(3, 2)], payments=[cash]) != plain
    upi = SalePayment(100, PaymentMethod.UPI, None)
    assert _hash([PurchaseLine(3, 2)], payments=[upi]) != _hash(
        [PurchaseLine(3, 2)], payments=[cash]
    )


def test_a_problem_with_a_merged_line_names_the_requests_first_line_for_it() -> None:
    answer = {"result": "invalid_input", "problems": [
        {"line": 1, "field": "discount", "message": "m"}, {"field": "payments", "message": "p"},
    ]}  # fmt: skip
    outcome = outcome_from_json(answer, "k", [2, 0])
    assert isinstance(outcome, Invalid)
    assert [(p.field, p.message) for p in outcome.problems] == [
        ("items[0].discount", "m"), ("payments", "p"),
    ]  # fmt: skip


def test_a_completed_answer_becomes_an_order_and_the_customer_after_it() -> None:
    outcome = outcome_from_json(
        {"result": "completed", "order": ORDER, "customer": CUSTOMER, "replayed": True}, "k"
    )
    assert isinstance(outcome, Purchased)
    assert outcome.replayed
    assert (outcome.order.number, outcome.order.total) == ("ORD-000041", 2500)
    assert outcome.order.items is not None
    assert outcome.order.items[0].product_name == "Rice"
    assert outcome.order.created_at.utcoffset() is not None
    assert outcome.customer is not None
    assert (outcome.customer.balance, outcome.customer.available_credit) == (2500, 7500)
    # An answer stored before sales had discounts, tax and payments: none of them.
    order = outcome.order
    assert (order.subtotal, order.discount_total, order.tax_total, order.paid_amount) == (
        2500, 0, 0, 0,
    )  # fmt: skip
    assert (order.credit_amount, order.payment_status.value, order.payments) == (2500, "CREDIT", ())


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"result": "insufficient_stock",
             "lines": [{"productId": 3, "requested": 2, "available": 1}]},
            InsufficientStock((ShortLine(3, 2, 1),)),
        ),
        (
            {"result": "credit_limit_exceeded", "creditLimit": 100, "balance": 90,
             "orderTotal": 20, "creditAmount": 15},
            CreditLimitExceeded(credit_limit=100, balance=90, order_total=20, credit_amount=15),
        ),
        (
            {"result": "price_changed", "expectedTotal": 10, "actualTotal": 12},
            PriceChanged(10, 12),
        ),
        ({"result": "not_found", "what": "Product", "id": 5}, Missing("Product", "5")),
        ({"result": "key_reused"}, KeyReused("k")),
    ],
)  # fmt: skip
def test_each_refusal_answer_becomes_its_domain_result(
    answer: dict[str, object], expected: object
) -> None:
    assert outcome_from_json(answer, "k") == expected


def test_available_credit_in_a_refusal_is_never_negative() -> None:
    refused = CreditLimitExceeded(credit_limit=100, balance=150, order_total=1, credit_amount=1)
    assert refused.available_credit == 0


def test_cursors_round_trip_and_reject_anything_else() -> None:
    assert decode_id(encode_cursor("order", 12345), "order") == 12345
    assert decode_id(None, "order") is None
    for bad in ("", "!!!", encode_cursor("customer", 1), encode_cursor("order", 0), "b3JkZXI6"):
        with pytest.raises(StrawberryGraphQLError):
            decode_id(bad, "order")
