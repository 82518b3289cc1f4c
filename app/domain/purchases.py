"""Orders (sales), payments and the ways a sale or payment can be refused.

Lines for the same product are merged and sorted by product id before anything
else happens: the merged lines are what is hashed for idempotency, validated and
sent to the database, and ascending product id is the order rows are locked in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app.domain.checkout import PaymentStatus, payment_status
from app.domain.identity import NOBODY, CreatedBy
from app.domain.records import CustomerRecord

MAX_LINES = 100
"""Lines per purchase, before merging."""
MAX_QUANTITY = 1_000_000
"""Units per line: merged lines stay far inside a GraphQL Int."""
MAX_PAYMENTS = 10
"""Payments at the counter per sale: what they add up to stays far inside a bigint."""


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
    discount: int = 0
    """Off this line, in minor units."""


def merge_lines(lines: Iterable[PurchaseLine]) -> tuple[PurchaseLine, ...]:
    """One line per product, quantities and discounts added, in ascending product id."""
    merged: dict[int, tuple[int, int]] = {}
    for line in lines:
        quantity, discount = merged.get(line.product_id, (0, 0))
        merged[line.product_id] = (quantity + line.quantity, discount + line.discount)
    return tuple(PurchaseLine(pid, *merged[pid]) for pid in sorted(merged))


@dataclass(frozen=True)
class SalePayment:
    """Money paid at the counter, as part of a sale."""

    amount: int
    method: PaymentMethod
    reference: str | None


@dataclass(frozen=True)
class OrderItemRecord:
    product_id: int
    product_name: str
    """The name when the order was placed."""
    quantity: int
    unit_price: int
    """The price when the order was placed."""
    line_total: int
    """Quantity x unit price, before discounts and tax."""
    discount: int = 0
    """The line's own discount."""
    bill_discount: int = 0
    """Its share of the bill discount."""
    tax_rate: int = 0
    """Hundredths of a percent, when the order was placed."""
    tax_amount: int = 0


@dataclass(frozen=True)
class PaymentRecord:
    id: int
    customer_id: int | None
    """``None`` for a payment of a walk-in sale."""
    amount: int
    method: PaymentMethod
    reference: str | None
    created_at: datetime
    reversed_at: datetime | None = None
    """Set once the payment was reversed (a bounced cheque)."""
    reversal_reason: str | None = None
    created_by: CreatedBy = NOBODY
    reversed_by: CreatedBy = NOBODY


@dataclass(frozen=True)
class OrderRecord:
    id: int
    number: str | None
    """``None`` only until the sale's bill number is taken, just after its commit."""
    customer_id: int | None
    """``None`` for a walk-in sale."""
    total: int
    note: str | None
    created_at: datetime
    items: tuple[OrderItemRecord, ...] | None = None
    """``None`` when not loaded with the order."""
    discount_total: int = 0
    """Line discounts and the bill discount."""
    bill_discount: int = 0
    tax_total: int = 0
    prices_include_tax: bool = False
    paid_amount: int = 0
    """Paid at the counter."""
    payments: tuple[PaymentRecord, ...] | None = None
    """``None`` when not loaded with the order."""
    created_by: CreatedBy = NOBODY

    @property
    def subtotal(self) -> int:
        """The lines at their prices, before discounts (and tax, unless included)."""
        return self.total + self.discount_total - (0 if self.prices_include_tax else self.tax_total)

    @property
    def credit_amount(self) -> int:
        return self.total - self.paid_amount

    @property
    def payment_status(self) -> PaymentStatus:
        return payment_status(self.paid_amount, self.credit_amount)


@dataclass(frozen=True)
class Purchased:
    order: OrderRecord
    customer: CustomerRecord | None
    """The customer just after this purchase (also on a replay); ``None``: a walk-in."""
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
    credit_amount: int
    """The part of the order not paid at the counter: what the rule is about."""

    @property
    def available_credit(self) -> int:
        return max(self.credit_limit - self.balance, 0)

    message = "The part of the order not paid now exceeds the customer's available credit."


@dataclass(frozen=True)
class PriceChanged:
    expected_total: int
    actual_total: int
    message = "Prices changed: the order total differs from the expected total."


@dataclass(frozen=True)
class ProductNotActive:
    """Only an ``ACTIVE`` product can be sold (migration 0014)."""

    product_id: int
    status: str

    @property
    def message(self) -> str:
        status = self.status.lower()
        return f"Product {self.product_id} is {status}: only active products can be sold."


@dataclass(frozen=True)
class PaymentExceedsBalance:
    balance: int
    amount: int
    message = "The payment is larger than what the customer owes."
