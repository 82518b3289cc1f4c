"""Demo data for a first run: five months of a small shop, through the real use cases.

Customers, products, sales, payments, a return and a void go through the same
services, database functions and role as API requests do (grants, RLS, triggers
and checks included), so ``credit-ledger verify`` accepts the demo like any
other business, and the first query already shows balances, overdue customers
in every aging bucket, walk-in sales paid in cash or UPI, and low stock.

The one seam for the past is the sale's instant: ``purchase(sold_at=...)``, the
``purchase()`` function's ``p_sold_at``.  Sales are written oldest first, so
each customer's ledger is in time order.  Payments, returns and voids have no
such seam: they happen at seeding time ("today"), after every sale, as a shop
that starts using the service would record what its customers pay this week.

Ids are deterministic on a fresh database (the README's tour relies on it):
the business is 1, customers 1-7 and products 1-7 in the order listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.domain.identity import Role
from app.domain.purchases import (
    PaymentMethod,
    PaymentTaken,
    Purchased,
    PurchaseLine,
    SalePayment,
)
from app.domain.records import ProductRecord
from app.domain.returns import ReturnLine
from app.services import admin, bills
from app.services.catalog import NewProduct, create_product
from app.services.customers import NewCustomer, create_customer
from app.services.payments import record_payment
from app.services.purchase import purchase
from app.services.returns import ItemsReturned, return_items
from app.services.settings import update_settings
from app.services.unit_of_work import UnitOfWork, UnitsOfWork
from app.services.voids import OrderVoided, void_order

BUSINESS = "Demo Traders"
CURRENCY = "INR"
TIME_ZONE = "Asia/Kolkata"
LOW_STOCK = 10
STORE = {
    "phone": "+91 22 4000 1234",
    "address": "14 Market Road, Dadar, Mumbai",
    "time_zone": TIME_ZONE,
    "low_stock_default": LOW_STOCK,
    "receipt_footer": "Thank you! Goods once sold are returned within 7 days with the bill.",
}
# Each: name, phone, credit limit in paise.
CUSTOMERS = (
    ("Asha General Store", "+91 98200 00001", 5_000_000),  # owes, nothing due yet
    ("Ravi Kirana", "+91 98200 00002", 2_000_000),  # overdue 1-30 days
    ("Meera Textiles", "+91 98200 00003", 10_000_000),  # overdue 31-60 days
    ("Kumar Sweets", "+91 98200 00004", 3_000_000),  # overdue 61-90 days
    ("Lakshmi Caterers", "+91 98200 00005", 4_000_000),  # overdue over 90 days
    ("Joseph Bakery", "+91 98200 00006", 1_500_000),  # paid up
    ("Farah Tailors", "+91 98200 00007", 1_000_000),  # new: no purchase yet
)
ASHA, RAVI, MEERA, KUMAR, LAKSHMI, JOSEPH, _FARAH = range(len(CUSTOMERS))
# Each: name, SKU, price in paise, units in stock at the start.
PRODUCTS = (
    ("Basmati Rice 5 kg", "RICE-5KG", 65_000, 120),
    ("Toor Dal 1 kg", "DAL-1KG", 16_000, 200),
    ("Sunflower Oil 1 L", "OIL-1L", 18_550, 150),
    ("Sugar 1 kg", "SUGAR-1KG", 4_800, 300),
    ("Tea Powder 500 g", "TEA-500G", 24_000, 30),  # ends low on stock
    ("Ghee 1 L", "GHEE-1L", 62_000, 20),  # ends low on stock
    ("Wheat Atta 10 kg", "ATTA-10KG", 42_000, 80),
)
RICE, DAL, OIL, SUGAR, TEA, GHEE, ATTA = range(len(PRODUCTS))
REST = -1
"""A counter payment of whatever the sale's total leaves."""


@dataclass(frozen=True)
class Sale:
    days_ago: int
    customer: int | None
    """Index in ``CUSTOMERS``; ``None``: a walk-in, paid in full at the counter."""
    lines: tuple[tuple[int, int], ...]
    """(index in ``PRODUCTS``, units)."""
    paid: tuple[tuple[int, PaymentMethod], ...] = ()
    """Paid at the counter: (paise or ``REST``, method); the rest goes on credit."""


CASH, UPI, CHEQUE = PaymentMethod.CASH, PaymentMethod.UPI, PaymentMethod.CHEQUE
SALES = (
    Sale(150, LAKSHMI, ((RICE, 4), (GHEE, 2)), ((100_000, CASH),)),
    Sale(147, None, ((SUGAR, 5), (DAL, 2)), ((REST, CASH),)),
    Sale(140, MEERA, ((OIL, 10), (ATTA, 5))),
    Sale(133, None, ((TEA, 2),), ((REST, UPI),)),
    Sale(125, LAKSHMI, ((DAL, 10), (SUGAR, 20))),
    Sale(118, None, ((RICE, 1), (OIL, 2)), ((REST, CASH),)),
    Sale(110, KUMAR, ((GHEE, 4), (SUGAR, 25))),
    Sale(104, None, ((TEA, 3),), ((REST, UPI),)),
    Sale(96, MEERA, ((RICE, 6), (DAL, 5)), ((200_000, UPI),)),
    Sale(90, None, ((ATTA, 2),), ((REST, CASH),)),
    Sale(84, KUMAR, ((TEA, 5), (OIL, 4))),
    Sale(80, MEERA, ((GHEE, 2),)),
    Sale(75, None, ((SUGAR, 10), (DAL, 3)), ((50_000, CASH), (REST, UPI))),
    Sale(62, JOSEPH, ((RICE, 2), (ATTA, 3))),
    Sale(55, None, ((TEA, 2),), ((REST, CASH),)),
    Sale(50, ASHA, ((RICE, 5), (OIL, 6))),
    Sale(45, RAVI, ((DAL, 8), (SUGAR, 15), (GHEE, 1))),
    Sale(40, None, ((GHEE, 2),), ((REST, UPI),)),
    Sale(33, MEERA, ((RICE, 3),)),
    Sale(28, None, ((OIL, 3),), ((REST, CASH),)),
    Sale(24, RAVI, ((TEA, 4),)),
    Sale(20, ASHA, ((GHEE, 3), (TEA, 3)), ((58_000, CASH),)),
    Sale(14, None, ((RICE, 1), (SUGAR, 4)), ((REST, UPI),)),
    Sale(10, ASHA, ((ATTA, 4), (DAL, 4))),
    Sale(6, LAKSHMI, ((SUGAR, 10),), ((REST, CASH),)),
    Sale(3, None, ((TEA, 2), (DAL, 2)), ((REST, CASH),)),  # voided today: rung up twice
    Sale(2, None, ((TEA, 2), (DAL, 2)), ((REST, CASH),)),
    Sale(1, KUMAR, ((OIL, 2),)),
)
VOIDED_SALE = 25
"""Index in ``SALES`` of the walk-in sale voided today."""
RETURNED_SALE, RETURNED = 21, (GHEE, 1)
"""Asha brings back one of the three tins of ghee of her sale of 20 days ago."""
# Paid today: (customer, paise, method, reference).
PAYMENTS = (
    (MEERA, 665_500, CHEQUE, "CHQ 004512"),
    (JOSEPH, 256_000, PaymentMethod.CASH, None),
    (ASHA, 436_300, UPI, "UPI-718204"),
    (KUMAR, 100_000, PaymentMethod.CASH, None),
)


@dataclass(frozen=True)
class Demo:
    business_id: int
    owner_key: str
    owner_email: str
    owner_password: str
    customer_ids: list[int]
    product_ids: list[int]
    order_ids: list[int]
    """One per sale of ``SALES``, in the same order."""


def sale_instant(days_ago: int, index: int, now: datetime) -> datetime:
    """A time of day in shop hours, ``days_ago`` whole days before ``now``'s date in the shop."""
    day = now.astimezone(ZoneInfo(TIME_ZONE)).date() - timedelta(days=days_ago)
    at = time(10 + index % 9, (index * 17) % 60, tzinfo=ZoneInfo(TIME_ZONE))
    return datetime.combine(day, at).astimezone(UTC)


async def create_demo(
    *, owner: AsyncEngine, service: AsyncEngine, pool: DriverPool, now: datetime | None = None
) -> Demo:
    """Create the demo business; ``owner`` is the owner's engine, ``service`` and ``pool``
    the service's (``pool``: its driver pool, for sales and payments)."""
    now = now or datetime.now(UTC)
    business_id = await admin.create_business(owner, name=BUSINESS, currency=CURRENCY)
    async with UnitOfWork(service, business_id) as uow:
        await update_settings(uow, changes=STORE)
    customer_ids = [await _customer(service, business_id, *row) for row in CUSTOMERS]
    product_ids = [await _product(service, business_id, row) for row in PRODUCTS]
    units = UnitsOfWork(service, pool, business_id)
    orders = []
    for index, sale in enumerate(SALES):
        customer = None if sale.customer is None else customer_ids[sale.customer]
        orders.append(
            await _sell(units, sale, customer, product_ids, sale_instant(sale.days_ago, index, now))
        )
    await bills.number_waiting(units)  # oldest id first: the bills are numbered in time order
    for number, (customer, amount, method, reference) in enumerate(PAYMENTS, 1):
        paid = await record_payment(
            units, customer_id=customer_ids[customer], amount=amount, method=method,
            reference=reference, idempotency_key=f"demo-payment-{number}",
        )  # fmt: skip
        assert isinstance(paid, PaymentTaken), paid
    async with UnitOfWork(service, business_id) as uow:
        voided = await void_order(
            uow, order_id=orders[VOIDED_SALE], reason="Rung up twice",
            idempotency_key="demo-void-1",
        )  # fmt: skip
    async with UnitOfWork(service, business_id) as uow:
        product, quantity = RETURNED
        returned = await return_items(
            uow, order_id=orders[RETURNED_SALE],
            lines=(ReturnLine(product_ids[product], quantity),), refund_method=None,
            reason="Tin dented", idempotency_key="demo-return-1",
        )  # fmt: skip
    assert isinstance(voided, OrderVoided), voided
    assert isinstance(returned, ItemsReturned), returned
    key = await admin.create_key(owner, business_id=business_id, role=Role.OWNER, name="demo")
    user = await admin.create_user(
        owner, business_id=business_id, email=f"owner+{business_id}@demo.example",
        role=Role.OWNER, full_name="Demo Owner",
    )  # fmt: skip
    return Demo(
        business_id=business_id,
        owner_key=key.token,
        owner_email=user.user.email,
        owner_password=user.one_time_password,
        customer_ids=customer_ids,
        product_ids=product_ids,
        order_ids=orders,
    )


async def _customer(
    service: AsyncEngine, business_id: int, name: str, phone: str, limit: int
) -> int:
    async with UnitOfWork(service, business_id) as uow:
        customer = NewCustomer(
            name=name, phone=phone, email=None, credit_limit=limit, payment_terms_days=None
        )
        return (await create_customer(uow, customer=customer)).id


async def _product(service: AsyncEngine, business_id: int, row: tuple[str, str, int, int]) -> int:
    name, sku, price, stock = row
    async with UnitOfWork(service, business_id) as uow:
        product = NewProduct(name=name, sku=sku, price=price, stock=stock)
        created = await create_product(uow, product=product)
        assert isinstance(created, ProductRecord), "a brand-new business has no SKUs or barcodes"
        return created.id


async def _sell(
    units: UnitsOfWork, sale: Sale, customer: int | None, product_ids: list[int], at: datetime
) -> int:
    """The order id of ``sale``, sold at ``at`` (the store charges no tax: the demo's
    totals are the lines' prices)."""
    total = sum(PRODUCTS[product][2] * units_ for product, units_ in sale.lines)
    paid = sum(amount for amount, _ in sale.paid if amount != REST)
    payments = [
        SalePayment(total - paid if amount == REST else amount, method, None)
        for amount, method in sale.paid
    ]
    outcome = await purchase(
        units,
        customer_id=customer,
        lines=[PurchaseLine(product_ids[product], n) for product, n in sale.lines],
        payments=payments,
        expected_total=total,
        note=None,
        idempotency_key=f"demo-sale-{at:%Y%m%d%H%M}",
        sold_at=at,
    )
    assert isinstance(outcome, Purchased), outcome
    return outcome.order.id
