"""What a return gives back: the credit note for returned units of an order.

A customer gets back what they paid for the units they return: the line's amount
less its own discount and its share of the bill discount, with its tax (unless
the prices included it), as stored on the order item when it was sold.  Units
are credited in proportion, rounded down, counted from the first unit returned:
returning ``r`` more units after ``a`` gives ``paid * (a + r) // sold - paid * a
// sold``, so returns of every unit, in any number of steps, add up to exactly
what the line cost.  Over every line that is the order's total.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.purchases import OrderItemRecord


def paid_for(item: OrderItemRecord, *, prices_include_tax: bool) -> int:
    """What the customer paid for the whole line."""
    net = item.line_total - item.discount - item.bill_discount
    return net if prices_include_tax else net + item.tax_amount


def credit_for(
    item: OrderItemRecord, *, prices_include_tax: bool, already: int, returning: int
) -> int:
    """The credit for ``returning`` more units of ``item`` after ``already`` were returned."""
    if not (already >= 0 and returning > 0 and already + returning <= item.quantity):
        raise ValueError("returns must stay within the units sold")
    paid = paid_for(item, prices_include_tax=prices_include_tax)
    return paid * (already + returning) // item.quantity - paid * already // item.quantity


@dataclass(frozen=True)
class ReturnLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class OverReturnedLine:
    product_id: int
    sold: int
    already_returned: int
    requested: int


def settle(credit: int, balance: int | None) -> tuple[int, int]:
    """(credited to the balance, refunded in money): the balance first, down to zero;
    a walk-in sale (``balance`` None) is refunded in full."""
    credited = 0 if balance is None else min(credit, max(balance, 0))
    return credited, credit - credited
