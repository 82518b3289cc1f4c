"""``dashboard`` and the sales analytics: what an owner reads to run the shop.

Periods are whole days in the store's time zone (``app.domain.reports``); the day and
period figures come from ``app.services.sales_summary``, the rankings and tax from
``app.services.analytics``, what is owed and in stock from ``app.services.dashboard``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from app.domain.purchases import PaymentMethod
from app.domain.records import ProductRecord
from app.domain.reports import GroupBy, Period, PeriodError, today
from app.graphql.context import Info
from app.graphql.pagination import bad_input, page_size
from app.graphql.permissions import OWNER, READ
from app.graphql.scalars import Money, Percent, money, percent
from app.services import analytics, product_lists
from app.services import dashboard as dashboards
from app.services.product_lists import EXPIRING_DAYS
from app.services.sales_summary import Bucket, period_totals, sales_summary, store_time_zone
from app.services.unit_of_work import UnitsOfWork

strawberry.enum(GroupBy, name="SalesGroupBy")
strawberry.enum(analytics.TopBy, name="TopProductsBy")
ALERTS_DEFAULT = 10
From = Annotated[date, strawberry.argument(name="from", description="First day, inclusive.")]


def period_of(start: date, end: date) -> Period:
    try:
        return Period.of(start, end)
    except PeriodError as exc:
        raise bad_input(exc.argument, exc.message) from exc


@strawberry.type
class DaySales:
    total_amount: Money = strawberry.field(description="What the day's bills came to.")
    bills_count: int
    paid_in_full: int = strawberry.field(description="Bills paid in full at the counter.")
    partly_paid: int
    on_credit: int = strawberry.field(description="Bills with nothing paid at the counter.")


@strawberry.type
class MethodAmount:
    method: PaymentMethod
    amount: Money


@strawberry.type
class Collections:
    total: Money = strawberry.field(
        description="Payments received that day, at the counter and later."
    )
    by_method: list[MethodAmount]


@strawberry.type
class Owed:
    total_amount: Money
    customers_count: int


@strawberry.type
class InventoryFigures:
    active_products: int = strawberry.field(description="Products ACTIVE and not archived.")
    low_stock_count: int = strawberry.field(
        description="The products lowStockProducts lists: below their minimum (minStock, else"
        " the store's lowStockDefault), neither archived nor discontinued."
    )
    expiring_count: int = strawberry.field(
        description="The products expiringProducts lists with its default window: expiring"
        " within 7 days of the store's today, or expired, not archived."
    )


@strawberry.type
class CustomerFigures:
    total: int = strawberry.field(description="Customers not archived.")
    new_this_week: int = strawberry.field(
        description="Created from the Monday of the dashboard's week to the end of its day."
    )


@strawberry.type
class ProductAlert:
    product_id: strawberry.ID
    name: str
    sku: str
    stock: int
    threshold: int = strawberry.field(
        description="The product's minimum stock: its minStock, else the store's lowStockDefault."
    )
    expiry_date: date | None


def _alert(product: ProductRecord, minimum: int) -> ProductAlert:
    return ProductAlert(
        product_id=strawberry.ID(str(product.id)),
        name=product.name,
        sku=product.sku,
        stock=product.stock,
        threshold=minimum,
        expiry_date=product.expiry_date,
    )


@strawberry.type
class Alerts:
    @strawberry.field(
        description="The first of lowStockProducts: lowest ratio of stock to minimum first."
    )
    async def low_stock(self, info: Info, first: int = ALERTS_DEFAULT) -> list[ProductAlert]:
        rows = await product_lists.low_stock(info.context.uow, limit=page_size(first), after=None)
        return [_alert(row.product, row.minimum) for row in rows]

    @strawberry.field(
        description="The first of expiringProducts (within 7 days): soonest first, the expired"
        " included."
    )
    async def expiring(self, info: Info, first: int = ALERTS_DEFAULT) -> list[ProductAlert]:
        rows = await product_lists.expiring(
            info.context.uow, within_days=EXPIRING_DAYS, limit=page_size(first), after=None
        )
        return [_alert(row.product, row.minimum) for row in rows]


@strawberry.type
class Dashboard:
    date: date = strawberry.field(description="The store's day the sales and collections are of.")
    sales: DaySales
    collections: Collections
    credit_outstanding: Owed = strawberry.field(description="Positive balances, now.")
    overdue: Owed = strawberry.field(description="Overdue amounts, now.")
    inventory: InventoryFigures
    customers: CustomerFigures
    alerts: Alerts


def _collections(bucket: Bucket, minor_units: int) -> Collections:
    return Collections(
        total=money(bucket.received, minor_units),
        by_method=[
            MethodAmount(method=totals.method, amount=money(totals.received, minor_units))
            for totals in bucket.methods
        ],
    )


@strawberry.type
class SalesBucket:
    start: date = strawberry.field(description="The group's first day within the period.")
    bills_count: int
    gross: Money = strawberry.field(description="Lines at their prices, before discounts.")
    discount: Money
    tax: Money
    total: Money = strawberry.field(description="What the bills came to.")
    returns: Money = strawberry.field(
        description="Totals of bills voided and credit notes of returns made in this group."
    )
    net: Money = strawberry.field(description="`total` less `returns`.")
    paid: Money = strawberry.field(description="Paid at the counter on the group's bills.")
    credit: Money = strawberry.field(description="Left on the customers' balances: total - paid.")
    voids_count: int
    returns_count: int


def sales_bucket(bucket: Bucket, minor_units: int) -> SalesBucket:
    def m(minor: int) -> Money:
        return money(minor, minor_units)

    return SalesBucket(
        start=bucket.start,
        bills_count=bucket.bills,
        gross=m(bucket.gross),
        discount=m(bucket.discount),
        tax=m(bucket.tax),
        total=m(bucket.total),
        returns=m(bucket.corrections),
        net=m(bucket.net),
        paid=m(bucket.paid),
        credit=m(bucket.credit),
        voids_count=bucket.voids,
        returns_count=bucket.returns,
    )


@strawberry.type
class MethodCollections:
    method: PaymentMethod
    received: Money
    refunded: Money
    reversed: Money = strawberry.field(description="Payments reversed (bounced) in the period.")
    net: Money


@strawberry.type
class CollectionsSummary:
    received: Money
    refunded: Money
    reversed: Money
    net: Money
    by_method: list[MethodCollections]


@strawberry.type
class TopProduct:
    product_id: strawberry.ID
    name: str
    sku: str
    quantity: int = strawberry.field(description="Sold less voided and returned.")
    revenue: Money = strawberry.field(description="Paid for it, less voids and returns.")
    returned_quantity: int
    returned: Money


@strawberry.type
class TopCustomer:
    customer_id: strawberry.ID
    name: str
    bills_count: int
    total: Money = strawberry.field(description="Bought, less voids and returns.")
    paid: Money = strawberry.field(description="Paid at the counter on those bills.")
    returned: Money


@strawberry.type
class TaxRateSummary:
    rate: Percent
    taxable_amount: Money
    tax_amount: Money
    returned: Money = strawberry.field(
        description="Credit notes for units sold at this rate, tax included."
    )


async def _zone(units: UnitsOfWork) -> str:
    return await store_time_zone(units)


@strawberry.type
class ReportQueries:
    @strawberry.field(
        permission_classes=READ,
        description=(
            "The owner's day (default: today in the store's time zone) and the shop as it is "
            "now: what is owed and overdue, stock, customers, alerts."
        ),
    )
    async def dashboard(self, info: Info, date: date | None = None) -> Dashboard:
        units = info.context.uow
        zone = await _zone(units)
        day = date or today(zone)
        period_of(day, day)
        found = await dashboards.dashboard(units, day=day, time_zone=zone)
        minor_units = info.context.minor_units
        now, sales = found.now, found.sales
        return Dashboard(
            date=day,
            sales=DaySales(
                total_amount=money(sales.total, minor_units),
                bills_count=sales.bills,
                paid_in_full=sales.paid_in_full,
                partly_paid=sales.partly_paid,
                on_credit=sales.on_credit,
            ),
            collections=_collections(sales, minor_units),
            credit_outstanding=Owed(
                total_amount=money(now.outstanding, minor_units),
                customers_count=now.owing_customers,
            ),
            overdue=Owed(
                total_amount=money(now.overdue, minor_units),
                customers_count=now.overdue_customers,
            ),
            inventory=InventoryFigures(
                active_products=now.active_products,
                low_stock_count=now.low_stock,
                expiring_count=now.expiring,
            ),
            customers=CustomerFigures(total=now.customers, new_this_week=now.new_this_week),
            alerts=Alerts(),
        )

    @strawberry.field(
        permission_classes=OWNER,
        description=(
            "Sales per day, ISO week or month of the store, `from` to `to` inclusive (at most "
            "5 years), empty groups included.  Voids and returns count when they are made."
        ),
    )
    async def sales_summary(
        self, info: Info, from_: From, to: date, group_by: GroupBy = GroupBy.DAY
    ) -> list[SalesBucket]:
        period = period_of(from_, to)
        units = info.context.uow
        buckets = await sales_summary(
            units, period=period, group_by=group_by, time_zone=await _zone(units)
        )
        return [sales_bucket(bucket, info.context.minor_units) for bucket in buckets]

    @strawberry.field(permission_classes=OWNER, description="Money in and out by method.")
    async def collections_summary(self, info: Info, from_: From, to: date) -> CollectionsSummary:
        period = period_of(from_, to)
        units = info.context.uow
        total = await period_totals(units, period=period, time_zone=await _zone(units))
        return collections_summary(total, info.context.minor_units)

    @strawberry.field(
        permission_classes=OWNER,
        description="Products by revenue or quantity sold in the period, net of voids and returns.",
    )
    async def top_products(
        self,
        info: Info,
        from_: From,
        to: date,
        by: analytics.TopBy = analytics.TopBy.REVENUE,
        first: int = 10,
    ) -> list[TopProduct]:
        period = period_of(from_, to)
        units = info.context.uow
        rows = await analytics.top_products(
            units, period=period, time_zone=await _zone(units), by=by, limit=page_size(first)
        )
        mu = info.context.minor_units
        return [
            TopProduct(
                product_id=strawberry.ID(str(row.product_id)),
                name=row.name,
                sku=row.sku,
                quantity=row.quantity,
                revenue=money(row.revenue, mu),
                returned_quantity=row.returned_quantity,
                returned=money(row.returned, mu),
            )
            for row in rows
        ]

    @strawberry.field(
        permission_classes=OWNER,
        description="Customers by what they bought in the period, net of voids and returns.",
    )
    async def top_customers(
        self, info: Info, from_: From, to: date, first: int = 10
    ) -> list[TopCustomer]:
        period = period_of(from_, to)
        units = info.context.uow
        rows = await analytics.top_customers(
            units, period=period, time_zone=await _zone(units), limit=page_size(first)
        )
        mu = info.context.minor_units
        return [
            TopCustomer(
                customer_id=strawberry.ID(str(row.customer_id)),
                name=row.name,
                bills_count=row.bills,
                total=money(row.total, mu),
                paid=money(row.paid, mu),
                returned=money(row.returned, mu),
            )
            for row in rows
        ]

    @strawberry.field(permission_classes=OWNER, description="Tax by rate, net of voids.")
    async def tax_summary(self, info: Info, from_: From, to: date) -> list[TaxRateSummary]:
        period = period_of(from_, to)
        units = info.context.uow
        rows = await analytics.tax_summary(units, period=period, time_zone=await _zone(units))
        mu = info.context.minor_units
        return [
            TaxRateSummary(
                rate=percent(int(row.rate * 100)),
                taxable_amount=money(row.taxable, mu),
                tax_amount=money(row.tax, mu),
                returned=money(row.returned, mu),
            )
            for row in rows
        ]


def collections_summary(total: Bucket, minor_units: int) -> CollectionsSummary:
    def m(minor: int) -> Money:
        return money(minor, minor_units)

    methods = total.methods
    return CollectionsSummary(
        received=m(sum(x.received for x in methods)),
        refunded=m(sum(x.refunded for x in methods)),
        reversed=m(sum(x.reversed for x in methods)),
        net=m(sum(x.net for x in methods)),
        by_method=[
            MethodCollections(
                method=x.method,
                received=m(x.received),
                refunded=m(x.refunded),
                reversed=m(x.reversed),
                net=m(x.net),
            )
            for x in methods
        ],
    )
