"""The checkout: what a sale comes to, line by line, and how it is paid.

This is the rule's readable home; the ``purchase`` database function computes the
same inside its transaction (``alembic/sql/<revision>/purchase.sql``), and a
randomized test proves both agree (``tests/integration/test_checkout_matches_sql.py``).
Amounts are minor units, tax rates hundredths of a percent (``5.00%`` is 500):
integers throughout, so nothing is lost to floating point.

Per line: its amount is quantity x unit price; its own discount comes off first;
the bill discount is then spread over the lines in proportion to what is left of
each, rounded down, the remainder going to the largest line (the first of equals)
and, only if that line cannot take all of it, to the next lines in order; tax is
the line's rate applied to what is left (exclusive: added on top; inclusive: the
part of it that is tax), rounded half-up to the minor unit, per line.  Payments
made at the counter are paid now; the rest of the total is credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from app.domain.results import Invalid, Problems

HUNDRED_PERCENT = 10_000
"""100.00%, in hundredths of a percent."""


class PaymentStatus(Enum):
    PAID = "PAID"
    PARTIAL = "PARTIAL"
    CREDIT = "CREDIT"


@dataclass(frozen=True)
class CartLine:
    unit_price: int
    quantity: int
    discount: int
    tax_rate: int
    """Hundredths of a percent: the product's own rate, else the store's default."""


@dataclass(frozen=True)
class LineAmounts:
    amount: int
    """Quantity x unit price, before discounts and tax."""
    discount: int
    """The line's own discount."""
    bill_discount: int
    """Its share of the bill discount."""
    tax_amount: int


@dataclass(frozen=True)
class Checkout:
    lines: tuple[LineAmounts, ...]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    paid: int
    credit: int

    @property
    def payment_status(self) -> PaymentStatus:
        return payment_status(self.paid, self.credit)


def payment_status(paid: int, credit: int) -> PaymentStatus:
    if credit == 0:
        return PaymentStatus.PAID
    return PaymentStatus.PARTIAL if paid > 0 else PaymentStatus.CREDIT


def half_up(numerator: int, divisor: int) -> int:
    """``numerator / divisor`` rounded half-up, for a non-negative numerator."""
    return (2 * numerator + divisor) // (2 * divisor)


def line_tax(net: int, rate: int, *, prices_include_tax: bool) -> int:
    if prices_include_tax:
        return half_up(net * rate, HUNDRED_PERCENT + rate)
    return half_up(net * rate, HUNDRED_PERCENT)


def spread(discount: int, amounts: Sequence[int]) -> list[int]:
    """``discount`` (at most ``sum(amounts)``) spread in proportion to ``amounts``."""
    whole = sum(amounts)
    if discount == 0:
        return [0] * len(amounts)
    shares = [discount * amount // whole for amount in amounts]
    left = discount - sum(shares)
    largest = amounts.index(max(amounts))
    for index in [largest, *range(len(amounts))]:
        taken = min(left, amounts[index] - shares[index])
        shares[index] += taken
        left -= taken
    return shares


def checkout(
    lines: Sequence[CartLine],
    *,
    bill_discount: int,
    payments: Sequence[int],
    prices_include_tax: bool,
    walk_in: bool,
) -> Checkout | Invalid:
    """What the sale comes to, or why it cannot be made (each field named)."""
    problems = Problems()
    amounts = [line.quantity * line.unit_price for line in lines]
    for index, (line, amount) in enumerate(zip(lines, amounts, strict=True)):
        if not 0 <= line.discount <= amount:
            problems.add(f"items[{index}].discount", "must be between zero and the line's amount")
    # What is left of each line after its own discount (kept within 0 and its amount,
    # so the bill discount is judged on its own even when a line discount is wrong).
    after_own = [
        amount - min(max(line.discount, 0), amount)
        for line, amount in zip(lines, amounts, strict=True)
    ]
    if not 0 <= bill_discount <= sum(after_own):
        problems.add("discount", "must be between zero and the total of the lines")
    for index, paid_now in enumerate(payments):
        if paid_now <= 0:
            problems.add(f"payments[{index}].amount", "must be greater than zero")
    if invalid := problems.result():
        return invalid

    shares = spread(bill_discount, after_own)
    taxes = [
        line_tax(left - share, line.tax_rate, prices_include_tax=prices_include_tax)
        for line, left, share in zip(lines, after_own, shares, strict=True)
    ]
    subtotal = sum(amounts)
    discount_total = sum(line.discount for line in lines) + bill_discount
    tax_total = sum(taxes)
    total = subtotal - discount_total + (0 if prices_include_tax else tax_total)
    paid = sum(payments)
    if paid > total:
        return Invalid.one("payments", "must not add up to more than the total")
    if walk_in and paid < total:
        return Invalid.one("payments", "must add up to the total: a walk-in sale is paid in full")
    return Checkout(
        lines=tuple(
            LineAmounts(amount, line.discount, share, tax)
            for line, amount, share, tax in zip(lines, amounts, shares, taxes, strict=True)
        ),
        subtotal=subtotal,
        discount_total=discount_total,
        tax_total=tax_total,
        total=total,
        paid=paid,
        credit=total - paid,
    )
