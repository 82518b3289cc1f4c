"""Demo data for a first run: a shop with customers, products and an owner key.

Customers and products go through the same use cases and the same database role
as API requests do, so the demo exercises the real path, grants and RLS included.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.domain.records import ProductRecord
from app.services import admin
from app.services.catalog import NewProduct, create_product
from app.services.customers import NewCustomer, create_customer
from app.services.unit_of_work import UnitOfWork

BUSINESS = "Demo Traders"
CURRENCY = "INR"
# Each: name, phone, credit limit in paise.
CUSTOMERS = (
    ("Asha General Store", "+91 98200 00001", 5_000_000),
    ("Ravi Kirana", "+91 98200 00002", 2_000_000),
    ("Meera Textiles", "+91 98200 00003", 10_000_000),
)
# Each: name, SKU, price in paise, units in stock.
PRODUCTS = (
    ("Basmati Rice 5 kg", "RICE-5KG", 65_000, 120),
    ("Toor Dal 1 kg", "DAL-1KG", 16_000, 200),
    ("Sunflower Oil 1 L", "OIL-1L", 18_550, 150),
    ("Sugar 1 kg", "SUGAR-1KG", 4_800, 300),
)


@dataclass(frozen=True)
class Demo:
    business_id: int
    owner_key: str
    customer_ids: list[int]
    product_ids: list[int]


async def create_demo(*, owner: AsyncEngine, service: AsyncEngine) -> Demo:
    """Create the demo business; ``owner`` is the owner's engine, ``service`` the service's."""
    business_id = await admin.create_business(owner, name=BUSINESS, currency=CURRENCY)
    customer_ids = []
    for name, phone, limit in CUSTOMERS:
        async with UnitOfWork(service, business_id) as uow:
            customer = NewCustomer(
                name=name, phone=phone, email=None, credit_limit=limit, payment_terms_days=None
            )
            customer_ids.append((await create_customer(uow, customer=customer)).id)
    product_ids = []
    for name, sku, price, stock in PRODUCTS:
        async with UnitOfWork(service, business_id) as uow:
            product = NewProduct(name=name, sku=sku, price=price, stock=stock)
            created = await create_product(uow, product=product)
            assert isinstance(created, ProductRecord), "a brand-new business has no SKUs"
            product_ids.append(created.id)
    key = await admin.create_key(owner, business_id=business_id, role=Role.OWNER, name="demo")
    return Demo(
        business_id=business_id,
        owner_key=key.token,
        customer_ids=customer_ids,
        product_ids=product_ids,
    )
