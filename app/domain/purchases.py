"""Orders, payments and the ways a purchase or payment can be refused.

Lines for the same product are merged and sorted by product id before anything
else happens: the merged lines are what is hashed for idempotency, validated and
sent to the database, and ascending product id is the order rows are locked in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app.domain.records import CustomerRecord

MAX_LINES = 100
"""Lines per purchase, before merging."""
MAX_QUANTITY = 1_000_000
"""Units per line: merged lines stay far inside a GraphQL Int."""


class PaymentMethod(Enum):
    CASH = "CASH"
    UPI = "UPI"
    CARD = "CARD"
    BANK_TRANSFER = "BANK_TRANSFER"
    CHEQUE = "CHEQUE"
    OTHER = "OTHER"


@dataclass(frozen=True)
class PurchaseLine:
    product_id: int
    quantity: int


def merge_lines(lines: Iterable[PurchaseLine]) -> tuple[PurchaseLine, ...]:
    """One line per product, quantities added, in ascending product id."""
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    return tuple(PurchaseLine(pid, quantities[pid]) for pid in sorted(quantities))


@dataclass(frozen=True)
class OrderItemRecord:
    product_id: int
    product_name: str
    """The name when the order was placed."""
    quantity: int
    unit_price: int
    """The price when the order was placed."""
    line_total: int


@dataclass(frozen=True)
class OrderRecord:
    id: int
    number: str
    customer_id: int
    total: int
    note: str | None
    created_at: datetime
    items: tuple[OrderItemRecord, ...] | None = None
    """``None`` when not loaded with the order."""


@dataclass(frozen=True)
class PaymentRecord:
    id: int
    customer_id: int
    amount: int
    method: PaymentMethod
    reference: str | None
    created_at: datetime


@dataclass(frozen=True)
class Purchased:
    order: OrderRecord
    customer: CustomerRecord
    """The customer just after this purchase (also on a replay)."""
    replayed: bool


@dataclass(frozen=True)
class PaymentTaken:
    payment: PaymentRecord
    customer: CustomerRecord
    """The customer just after this payment (also on a replay)."""
    replayed: bool


@dataclass(frozen=True)
class ShortLine:
    product_id: int
    requested: int
    available: int


@dataclass(frozen=True)
class InsufficientStock:
    lines: tuple[ShortLine, ...]

    @property
    def message(self) -> str:
        count = len(self.lines)
        return f"Not enough stock for {count} product{'s' if count != 1 else ''}."


@dataclass(frozen=True)
class CreditLimitExceeded:
    credit_limit: int
    balance: int
    order_total: int

    @property
    def available_credit(self) -> int:
        return max(self.credit_limit - self.balance, 0)

    message = "The order total exceeds the customer's available credit."


@dataclass(frozen=True)
class PriceChanged:
    expected_total: int
    actual_total: int
    message = "Prices changed: the order total differs from the expected total."


@dataclass(frozen=True)
class PaymentExceedsBalance:
    balance: int
    amount: int
    message = "The payment is larger than what the customer owes."
