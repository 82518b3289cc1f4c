"""Orders (sales): the ``purchase`` mutation, ``order``, ``orderByNumber`` and a
customer's orders.

``purchase`` answers from the database function's own result: the order, its
items, its payments and the customer after the sale arrive in that one round trip.
Only fields a client asks for beyond that (``OrderItem.product``, ``Order.customer``
or ``Order.payments`` of an order read back) go through dataloaders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain import purchases as domain
from app.domain.catalogue import ProductStatus
from app.domain.checkout import PaymentStatus
from app.domain.records import CustomerRecord
from app.domain.results import Invalid, KeyReused, Missing, Problems
from app.graphql import loaders
from app.graphql.actors import Actor, actor_field, load_actor
from app.graphql.audited import audited
from app.graphql.catalog import Product
from app.graphql.common import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    gid,
    read_id,
    read_idempotency_key,
    read_money,
    read_text,
)
from app.graphql.context import Info
from app.graphql.customers import Customer
from app.graphql.order_corrections import OrderReturn, Refund, corrections
from app.graphql.pagination import Connection, connection, decode_id, encode_cursor, page_size
from app.graphql.payments import Payment
from app.graphql.permissions import READ, WRITE
from app.graphql.scalars import Money, Percent, money, percent
from app.receipts.links import ReceiptLinks
from app.services import bills
from app.services import purchase as service
from app.services.order_corrections import OrderStatus
from app.services.orders import PageRequest

# The domain's enum, registered as is: one list of statuses for both layers.
strawberry.enum(PaymentStatus, name="PaymentStatus")


@strawberry.type
class OrderItem:
    product_name: str = strawberry.field(description="The product's name when ordered.")
    quantity: int
    unit_price: Money = strawberry.field(description="The price when ordered.")
    line_total: Money = strawberry.field(description="Quantity x unit price, before discounts.")
    discount: Money = strawberry.field(description="The line's own discount.")
    bill_discount: Money = strawberry.field(description="Its share of the bill discount.")
    tax_rate: Percent = strawberry.field(description="The rate when ordered.")
    tax_amount: Money
    record: strawberry.Private[domain.OrderItemRecord]

    @classmethod
    def of(cls, item: domain.OrderItemRecord, minor_units: int) -> OrderItem:
        return cls(
            product_name=item.product_name,
            quantity=item.quantity,
            unit_price=money(item.unit_price, minor_units),
            line_total=money(item.line_total, minor_units),
            discount=money(item.discount, minor_units),
            bill_discount=money(item.bill_discount, minor_units),
            tax_rate=percent(item.tax_rate),
            tax_amount=money(item.tax_amount, minor_units),
            record=item,
        )

    @strawberry.field
    async def product(self, info: Info) -> Product:
        record = await loaders.product_by_id(info).load(self.record.product_id)
        # order_items references products with ON DELETE RESTRICT.
        assert record is not None
        return Product.of(record, info.context.minor_units)


@strawberry.type
class Order:
    id: strawberry.ID
    subtotal: Money = strawberry.field(description="The lines at their prices.")
    discount_total: Money = strawberry.field(description="Line discounts and the bill discount.")
    bill_discount: Money = strawberry.field(description="The discount off the whole bill.")
    tax_total: Money
    prices_include_tax: bool = strawberry.field(
        description="Whether the prices included the tax (the store's setting at the time)."
    )
    total: Money = strawberry.field(description="After discounts, with tax.")
    paid_amount: Money = strawberry.field(description="Paid at the counter.")
    credit_amount: Money = strawberry.field(description="The rest of the total, on credit.")
    payment_status: PaymentStatus
    note: str | None
    created_at: datetime
    record: strawberry.Private[domain.OrderRecord]
    customer_record: strawberry.Private[CustomerRecord | None]
    created_by: Actor | None = actor_field(lambda order: order.record.created_by)

    @classmethod
    def of(
        cls, record: domain.OrderRecord, minor_units: int, customer: CustomerRecord | None = None
    ) -> Order:
        return cls(
            id=gid(record.id),
            subtotal=money(record.subtotal, minor_units),
            discount_total=money(record.discount_total, minor_units),
            bill_discount=money(record.bill_discount, minor_units),
            tax_total=money(record.tax_total, minor_units),
            prices_include_tax=record.prices_include_tax,
            total=money(record.total, minor_units),
            paid_amount=money(record.paid_amount, minor_units),
            credit_amount=money(record.credit_amount, minor_units),
            payment_status=record.payment_status,
            note=record.note,
            created_at=record.created_at,
            record=record,
            customer_record=customer,
        )

    @strawberry.field(
        description=(
            "The bill number, BILL-YYYY-NNNNNN: consecutive per business and calendar year"
            " in the store's time zone (orders made before bill numbers keep ORD-NNNNNN)."
        )
    )
    async def number(self, info: Info) -> str:
        # Taken just after the sale committed; an order read in that moment (or whose
        # request died before it) is numbered here, in a transaction of its own.
        number = self.record.number
        if number is None:
            number = await bills.number_sale(info.context.uow, self.record.id)
            info.context.unnumbered_sale = False  # every waiting sale was numbered with it
        return number

    @strawberry.field(description="Null for a walk-in sale.")
    async def customer(self, info: Info) -> Customer | None:
        record = self.customer_record
        if record is None:
            if self.record.customer_id is None:
                return None
            record = await loaders.customer_by_id(info).load(self.record.customer_id)
        assert record is not None  # orders reference customers with ON DELETE RESTRICT
        return Customer.of(record, info.context.minor_units)

    @strawberry.field(description="Money paid at the counter with this order.")
    async def payments(self, info: Info) -> list[Payment]:
        payments = self.record.payments
        if payments is None:
            payments = await loaders.payments_by_order(info).load(self.record.id)
        minor_units = info.context.minor_units
        return [Payment.of(payment, minor_units) for payment in payments or ()]

    @strawberry.field(
        description=(
            "A link to this order's printable receipt (80 mm or A4), signed for this order"
            " alone: it needs no API key, so the shop can send it to its customer. It works"
            " for 30 days (RECEIPT_LINK_DAYS); then it answers 410, and altered, 403."
        )
    )
    async def receipt_url(self, info: Info) -> str:
        request = info.context.request
        links: ReceiptLinks = request.app.state.receipt_links
        return await links.url(
            request, business_id=info.context.caller.business.id, order_id=self.record.id
        )

    @strawberry.field
    async def items(self, info: Info) -> list[OrderItem]:
        items = self.record.items
        if items is None:
            items = await loaders.items_by_order(info).load(self.record.id)
        minor_units = info.context.minor_units
        return [OrderItem.of(item, minor_units) for item in items or ()]

    @strawberry.field(description="COMPLETED, PARTIALLY_RETURNED, RETURNED or VOIDED.")
    async def status(self, info: Info) -> OrderStatus:
        return (await corrections(info, self.record.id)).status

    @strawberry.field
    async def voided_at(self, info: Info) -> datetime | None:
        return (await corrections(info, self.record.id)).voided_at

    @strawberry.field
    async def void_reason(self, info: Info) -> str | None:
        return (await corrections(info, self.record.id)).void_reason

    @strawberry.field(description="Who voided it; null if it stands.")
    async def voided_by(self, info: Info) -> Actor | None:
        return await load_actor(info, *(await corrections(info, self.record.id)).voided_by)

    @strawberry.field(description="Returns of this order's items, oldest first.")
    async def returns(self, info: Info) -> list[OrderReturn]:
        found = (await corrections(info, self.record.id)).returns
        return [OrderReturn.of(record, info.context.minor_units) for record in found]

    @strawberry.field(description="Money paid back: by voids and returns, oldest first.")
    async def refunds(self, info: Info) -> list[Refund]:
        found = (await corrections(info, self.record.id)).refunds
        return [Refund.of(record, info.context.minor_units) for record in found]


async def customer_orders(
    info: Info, customer: CustomerRecord, first: int, after: str | None
) -> Connection[Order]:
    """A page of ``customer``'s orders, newest first; batched across customers."""
    first = page_size(first)
    before = decode_id(after, "order")
    page = await loaders.customer_orders(info).load(PageRequest(customer.id, before, first + 1))
    minor_units = info.context.minor_units
    return connection(
        page or [],
        first,
        cursor=lambda order: encode_cursor("order", order.id),
        node=lambda order: Order.of(order, minor_units, customer),
    )


@strawberry.type
class PurchaseCompleted:
    order: Order
    customer: Customer | None = strawberry.field(
        description="The customer just after this purchase; null for a walk-in sale."
    )


@strawberry.type
class InsufficientStockLine:
    product_id: strawberry.ID
    requested: int
    available: int


@strawberry.type
class InsufficientStock:
    message: str
    lines: list[InsufficientStockLine] = strawberry.field(description="Every line that is short.")


@strawberry.type
class CreditLimitExceeded:
    message: str
    credit_limit: Money
    balance: Money
    order_total: Money
    credit_amount: Money = strawberry.field(
        description="The part of the order not paid now, which the limit applies to."
    )
    available_credit: Money


@strawberry.type
class PriceChanged:
    message: str
    expected_total: Money
    actual_total: Money = strawberry.field(description="The total at current prices.")


@strawberry.type
class ProductNotActive:
    message: str
    product_id: strawberry.ID
    status: ProductStatus = strawberry.field(description="Why it cannot be sold now.")


def insufficient_stock(short: domain.InsufficientStock) -> InsufficientStock:
    return InsufficientStock(
        message=short.message,
        lines=[
            InsufficientStockLine(
                product_id=gid(line.product_id), requested=line.requested, available=line.available
            )
            for line in short.lines
        ],
    )


PurchaseResult = Annotated[
    PurchaseCompleted
    | InsufficientStock
    | CreditLimitExceeded
    | NotFound
    | InvalidInput
    | IdempotencyKeyReused
    | PriceChanged
    | ProductNotActive,
    strawberry.union("PurchaseResult"),
]


@strawberry.input
class PurchaseItemInput:
    product_id: strawberry.ID
    quantity: int
    discount: Money | None = strawberry.field(default=None, description="Off this line.")


@strawberry.input
class SalePaymentInput:
    amount: Money
    method: domain.PaymentMethod
    reference: str | None = None


@strawberry.input
class PurchaseInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Omitted or null: a walk-in sale, which must be paid in full."
    )
    items: list[PurchaseItemInput]
    idempotency_key: str = strawberry.field(
        description="Retrying with the same key and request returns the original result."
    )
    expected_total: Money | None = strawberry.field(
        default=None,
        description="The total the client showed (after discounts, with tax); if it differs,"
        " the purchase is refused.",
    )
    note: str | None = None
    discount: Money | None = strawberry.field(
        default=None,
        description="Off the bill, spread over the lines in proportion to their amounts.",
    )
    payments: list[SalePaymentInput] | None = strawberry.field(
        default=None, description="Paid now (split tender allowed); the rest is credit."
    )


def _read_lines(
    items: list[PurchaseItemInput], problems: Problems, minor_units: int
) -> list[domain.PurchaseLine]:
    if not 1 <= len(items) <= domain.MAX_LINES:
        problems.add("items", f"must have 1 to {domain.MAX_LINES} lines")
    lines = []
    for index, item in enumerate(items[: domain.MAX_LINES]):
        product_id = read_id(item.product_id, f"items[{index}].productId", problems)
        if not 1 <= item.quantity <= domain.MAX_QUANTITY:
            problems.add(f"items[{index}].quantity", f"must be 1 to {domain.MAX_QUANTITY}")
        discount = 0
        if item.discount is not None:
            discount = read_money(
                item.discount, f"items[{index}].discount", problems, minor_units, positive=False
            )
        lines.append(domain.PurchaseLine(product_id, item.quantity, discount))
    return lines


def _read_payments(
    payments: list[SalePaymentInput] | None, problems: Problems, minor_units: int
) -> list[domain.SalePayment]:
    payments = payments or []
    if len(payments) > domain.MAX_PAYMENTS:
        problems.add("payments", f"must have at most {domain.MAX_PAYMENTS} payments")
    read = []
    for index, payment in enumerate(payments[: domain.MAX_PAYMENTS]):
        field = f"payments[{index}]"
        amount = read_money(payment.amount, f"{field}.amount", problems, minor_units, positive=True)
        reference = read_text(
            payment.reference, f"{field}.reference", problems, max_length=200, required=False
        )
        read.append(domain.SalePayment(amount, payment.method, reference))
    return read


def _completed(done: domain.Purchased, minor_units: int) -> PurchaseCompleted:
    customer = done.customer
    return PurchaseCompleted(
        order=Order.of(done.order, minor_units, customer),
        customer=None if customer is None else Customer.of(customer, minor_units),
    )


def _result(outcome: service.PurchaseOutcome, minor_units: int) -> PurchaseResult:
    match outcome:
        case domain.Purchased():
            return _completed(outcome, minor_units)
        case Missing():
            return NotFound.of(outcome)
        case KeyReused():
            return IdempotencyKeyReused.of(outcome)
        case Invalid():
            return InvalidInput.of(outcome)
        case _:
            return _refusal(outcome, minor_units)


def _refusal(
    outcome: domain.InsufficientStock
    | domain.CreditLimitExceeded
    | domain.PriceChanged
    | domain.ProductNotActive,
    minor_units: int,
) -> PurchaseResult:
    match outcome:
        case domain.ProductNotActive():
            return ProductNotActive(
                message=outcome.message,
                product_id=gid(outcome.product_id),
                status=ProductStatus(outcome.status),
            )
        case domain.InsufficientStock():
            return insufficient_stock(outcome)
        case domain.CreditLimitExceeded():
            return CreditLimitExceeded(
                message=outcome.message,
                credit_limit=money(outcome.credit_limit, minor_units),
                balance=money(outcome.balance, minor_units),
                order_total=money(outcome.order_total, minor_units),
                credit_amount=money(outcome.credit_amount, minor_units),
                available_credit=money(outcome.available_credit, minor_units),
            )
        case domain.PriceChanged():
            return PriceChanged(
                message=outcome.message,
                expected_total=money(outcome.expected_total, minor_units),
                actual_total=money(outcome.actual_total, minor_units),
            )


@strawberry.type
class OrderQueries:
    @strawberry.field(permission_classes=READ)
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        record = await loaders.load_by_client_id(loaders.order_by_id(info), id)
        return None if record is None else Order.of(record, info.context.minor_units)

    @strawberry.field(permission_classes=READ, description="An order by its bill number.")
    async def order_by_number(self, info: Info, number: str) -> Order | None:
        record = await loaders.order_by_number(info).load(number.strip())
        return None if record is None else Order.of(record, info.context.minor_units)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(permission_classes=WRITE)
    @audited("Order")
    async def purchase(self, info: Info, input: PurchaseInput) -> PurchaseResult:
        problems = Problems()
        minor_units = info.context.minor_units
        customer_id = None
        if input.customer_id is not None:
            customer_id = read_id(input.customer_id, "customerId", problems)
        lines = _read_lines(input.items, problems, minor_units)
        bill_discount = 0
        if input.discount is not None:
            bill_discount = read_money(
                input.discount, "discount", problems, minor_units, positive=False
            )
        payments = _read_payments(input.payments, problems, minor_units)
        expected_total = None
        if input.expected_total is not None:
            expected_total = read_money(
                input.expected_total, "expectedTotal", problems, minor_units, positive=False
            )
        note = read_text(input.note, "note", problems, max_length=500, required=False)
        key = read_idempotency_key(input.idempotency_key, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        outcome = await service.purchase(
            info.context.uow,
            customer_id=customer_id,
            lines=lines,
            bill_discount=bill_discount,
            payments=payments,
            expected_total=expected_total,
            note=note,
            idempotency_key=key,
        )
        if isinstance(outcome, domain.Purchased) and outcome.order.number is None:
            info.context.unnumbered_sale = True
        return _result(outcome, minor_units)
