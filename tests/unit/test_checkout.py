"""The checkout arithmetic (``app.domain.checkout``): examples a shopkeeper can check by
hand, and properties that hold on any cart."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.checkout import CartLine, Checkout, PaymentStatus, checkout, spread
from app.domain.percent import PercentError, from_hundredths, to_hundredths
from app.domain.results import Invalid


def _sale(lines: list[CartLine], **options: object) -> Checkout:
    arguments: dict[str, object] = {
        "bill_discount": 0, "payments": [], "prices_include_tax": False, "walk_in": False,
    } | options  # fmt: skip
    result = checkout(lines, **arguments)  # type: ignore[arg-type]
    assert isinstance(result, Checkout), result
    return result


def test_a_sale_with_line_and_bill_discounts_and_exclusive_tax() -> None:
    # 3 x 10.00 less 2.00 at 5%; 1 x 5.00 at 12%; 3.00 off the bill (2.55 + 0.45).
    sale = _sale(
        [CartLine(1000, 3, 200, 500), CartLine(500, 1, 0, 1200)],
        bill_discount=300, payments=[2000, 1000],
    )  # fmt: skip
    assert [(line.bill_discount, line.tax_amount) for line in sale.lines] == [(255, 127), (45, 55)]
    assert (sale.subtotal, sale.discount_total, sale.tax_total) == (3500, 500, 182)
    assert (sale.total, sale.paid, sale.credit) == (3182, 3000, 182)
    assert sale.payment_status is PaymentStatus.PARTIAL


def test_inclusive_tax_is_the_part_of_the_price_that_is_tax() -> None:
    sale = _sale([CartLine(10500, 1, 0, 500)], prices_include_tax=True, payments=[10500])
    assert (sale.tax_total, sale.total, sale.payment_status) == (500, 10500, PaymentStatus.PAID)


def test_tax_rounds_half_up_per_line() -> None:
    # 0.10 at 5% is 0.005: half a minor unit, rounded up, on each of the two lines.
    sale = _sale([CartLine(10, 1, 0, 500), CartLine(10, 1, 0, 500)])
    assert [line.tax_amount for line in sale.lines] == [1, 1]
    assert (sale.total, sale.payment_status) == (22, PaymentStatus.CREDIT)


def test_the_remainder_goes_to_the_largest_line_unless_it_cannot_take_it() -> None:
    assert spread(100, [300, 600, 300]) == [25, 50, 25]
    assert spread(10, [1, 5, 1, 5]) == [1, 5, 0, 4]
    assert spread(11, [3, 4, 4]) == [3, 4, 4]
    assert spread(2, [1, 1, 1]) == [1, 1, 0]


@pytest.mark.parametrize(
    ("options", "line", "field"),
    [
        ({}, CartLine(100, 1, 101, 0), "items[0].discount"),
        ({}, CartLine(100, 1, -1, 0), "items[0].discount"),
        ({"bill_discount": 101}, CartLine(100, 1, 0, 0), "discount"),
        ({"bill_discount": -1}, CartLine(100, 1, 0, 0), "discount"),
        ({"payments": [0]}, CartLine(100, 1, 0, 0), "payments[0].amount"),
        ({"payments": [60, 50]}, CartLine(100, 1, 0, 0), "payments"),
        ({"payments": [60], "walk_in": True}, CartLine(100, 1, 0, 0), "payments"),
    ],
)
def test_what_cannot_be_sold_names_the_field(
    options: dict[str, object], line: CartLine, field: str
) -> None:
    arguments: dict[str, object] = {
        "bill_discount": 0, "payments": [], "prices_include_tax": False, "walk_in": False,
    } | options  # fmt: skip
    result = checkout([line], **arguments)  # type: ignore[arg-type]
    assert isinstance(result, Invalid)
    assert [problem.field for problem in result.problems] == [field]


def test_a_walk_in_sale_of_free_items_is_paid() -> None:
    sale = _sale([CartLine(0, 2, 0, 500)], walk_in=True)
    assert (sale.total, sale.payment_status) == (0, PaymentStatus.PAID)


@pytest.mark.parametrize(
    ("text", "hundredths"), [("0", 0), ("5", 500), ("5.25", 525), ("100.00", 10_000)]
)
def test_percent_in_hundredths(text: str, hundredths: int) -> None:
    assert to_hundredths(Decimal(text)) == hundredths
    assert from_hundredths(hundredths) == Decimal(text)


@pytest.mark.parametrize("text", ["-0.01", "100.01", "5.001", "Infinity"])
def test_percent_outside_0_to_100_or_too_precise_is_refused(text: str) -> None:
    with pytest.raises(PercentError):
        to_hundredths(Decimal(text))


def _line(price: int, quantity: int, cut: int, rate: int) -> CartLine:
    return CartLine(price, quantity, price * quantity * cut // 100, rate)


lines = st.lists(
    st.builds(
        _line, st.integers(0, 10**9), st.integers(1, 1000), st.integers(0, 100),
        st.integers(0, 10_000),
    ),
    min_size=1, max_size=12,
)  # fmt: skip


@given(lines, st.integers(0, 100), st.booleans())
def test_any_cart_adds_up(cart: list[CartLine], bill_cut: int, inclusive: bool) -> None:
    after_own = sum(line.unit_price * line.quantity - line.discount for line in cart)
    sale = _sale(cart, bill_discount=after_own * bill_cut // 100, prices_include_tax=inclusive)
    assert sum(line.bill_discount for line in sale.lines) == after_own * bill_cut // 100
    for line in sale.lines:
        net = line.amount - line.discount - line.bill_discount
        assert net >= 0
        assert 0 <= line.tax_amount <= net
    assert sale.subtotal - sale.discount_total == sum(
        line.amount - line.discount - line.bill_discount for line in sale.lines
    )
    assert sale.total == sale.subtotal - sale.discount_total + (0 if inclusive else sale.tax_total)
    assert (sale.credit, sale.paid) == (sale.total, 0)
