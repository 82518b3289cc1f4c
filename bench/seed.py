"""The businesses the workloads run against, seeded as the owner.

* ``shop``: customers with large credit limits and an opening balance (so
  payments have something to settle), 1,000 products with large stock.  Stock
  arrives as ``initial`` stock movements and balances as ledger charges, both
  through the triggers, exactly as the service would write them.
* ``ledger``: issue 4's wholesaler, 100,000 customers and 2,000,000 ledger
  entries over the past ~180 days (``bench/history.py``).

Businesses and API keys come from the admin service; everything else is bulk
SQL, each transaction with the tenant bound because RLS is forced on the owner.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from app.db.engine import owner_engine
from app.domain.checkout import CartLine, Checkout, checkout
from app.domain.identity import Role
from app.domain.money import from_minor
from app.services import admin
from bench import history
from bench.database import connect, tenant

CREDIT_LIMIT = 10**13
"""Minor units: far beyond anything a bench run can charge."""
OPENING_QUANTITY = 20_000
"""Each customer's opening order: this many units of one product, 200,000.00 or more."""
INITIAL_STOCK = 10**9
PAYMENT_AMOUNTS = [f"{n}.00" for n in range(1, 101)]
"""Payments of 1.00 to 100.00: a bench run never exhausts an opening balance."""
POOL_SIZE = 1_000
COUNTER_PRODUCTS = 10
"""Per line of the ``sale-counter`` workload: each line draws from its own products."""
COUNTER_PRICE = 12_000
"""Every counter product's price (120.00) and tax rate (5.00%): so the total of a
counter sale is known before it is made, and a walk-in sale can pay it in full."""
COUNTER_TAX_RATE = "5.00"
COUNTER_LINES = ((2, 1_000), (1, 0), (1, 0))
"""The counter sale's lines: quantity and line discount (minor units)."""
COUNTER_BILL_DISCOUNT = 500
COUNTER_CASH = 20_000
"""Of the total: this much in cash, the rest by UPI."""


def counter_sale_payments() -> tuple[str, str]:
    """Cash and UPI amounts of the ``sale-counter`` workload, which add up to its total."""
    sale = checkout(
        [CartLine(COUNTER_PRICE, quantity, discount, 500) for quantity, discount in COUNTER_LINES],
        bill_discount=COUNTER_BILL_DISCOUNT, payments=[], prices_include_tax=False, walk_in=False,
    )  # fmt: skip
    assert isinstance(sale, Checkout)
    return str(from_minor(COUNTER_CASH, 2)), str(from_minor(sale.total - COUNTER_CASH, 2))


# Each customer's opening balance is a real order, in one statement (foreign keys
# are checked at its end): the order, its item, the sale movement and the charge,
# the last two through their triggers like any purchase.
OPENING_ORDERS = """
WITH pick AS (
    SELECT c.id AS customer_id, p.id AS product_id, p.name, p.price
    FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn
          FROM customers WHERE business_id = %(b)s) c
    JOIN (SELECT id, name, price, row_number() OVER (ORDER BY id) - 1 AS rn,
                 count(*) OVER () AS n
          FROM products WHERE business_id = %(b)s) p ON p.rn = c.rn %% p.n
), opened AS (
    INSERT INTO orders (business_id, customer_id, total, note)
    SELECT %(b)s, customer_id, price * %(quantity)s, 'opening balance'
    FROM pick ORDER BY customer_id
    RETURNING id, customer_id, total
), numbers AS (
    INSERT INTO bill_numbers (business_id, order_id, number)
    SELECT %(b)s, id, 'OPEN-' || customer_id FROM opened
), items AS (
    INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,
                             quantity, unit_price, line_total)
    SELECT %(b)s, o.id, 1, k.product_id, k.name, %(quantity)s, k.price, o.total
    FROM opened o JOIN pick k USING (customer_id)
), sales AS (
    INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id)
    SELECT %(b)s, k.product_id, 'sale', -%(quantity)s, o.id
    FROM opened o JOIN pick k USING (customer_id) ORDER BY o.id
)
INSERT INTO credit_ledger (business_id, customer_id, kind, amount, balance_after,
                           charged_total, credited_total, order_id)
SELECT %(b)s, customer_id, 'charge', total, 0, 0, 0, id FROM opened ORDER BY id
"""


@dataclass
class Dataset:
    name: str
    business_id: int
    tokens: dict[Role, str]
    pools: dict[str, list[str]]
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


async def business_with_keys(url: str, name: str) -> tuple[int, dict[Role, str]]:
    engine = owner_engine(url)
    try:
        business_id = await admin.create_business(engine, name=name, currency="INR", terms_days=30)
        tokens = {
            role: (await admin.create_key(engine, business_id=business_id, role=role)).token
            for role in Role
        }
    finally:
        await engine.dispose()
    return business_id, tokens


def seed_shop(url: str, *, customers: int = 1_000, products: int = 1_000) -> Dataset:
    started = time.perf_counter()
    business_id, tokens = asyncio.run(business_with_keys(url, "Bench shop"))
    params = {
        "b": business_id, "customers": customers, "products": products,
        "limit": CREDIT_LIMIT, "quantity": OPENING_QUANTITY, "stock": INITIAL_STOCK,
    }  # fmt: skip
    with connect(url) as connection, tenant(connection, business_id) as cursor:
        cursor.execute(
            "INSERT INTO customers (business_id, name, phone, credit_limit)"
            " SELECT %(b)s, 'Shop customer ' || n, '+91 98' || lpad(n::text, 8, '0'), %(limit)s"
            " FROM generate_series(1, %(customers)s) n RETURNING id",
            params,
        )
        customer_ids = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO products (business_id, name, sku, price)"
            " SELECT %(b)s, 'Product ' || n, 'SKU-' || lpad(n::text, 5, '0'),"
            "        (10 + floor(random() * 490))::bigint * 100"
            " FROM generate_series(1, %(products)s) n ORDER BY n RETURNING id",
            params,
        )
        product_ids = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO products (business_id, name, sku, price, tax_rate)"
            " SELECT %(b)s, 'Counter item ' || n, 'CTR-' || lpad(n::text, 5, '0'),"
            "        %(counter_price)s, %(counter_tax)s"
            " FROM generate_series(1, %(counter)s) n ORDER BY n RETURNING id",
            {**params, "counter": 3 * COUNTER_PRODUCTS, "counter_price": COUNTER_PRICE,
             "counter_tax": COUNTER_TAX_RATE},
        )  # fmt: skip
        counter_ids = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity, note)"
            " SELECT %(b)s, id, 'initial', %(stock)s, 'bench seed'"
            " FROM products WHERE business_id = %(b)s ORDER BY id",
            params,
        )
        cursor.execute(OPENING_ORDERS, params)
    # As autovacuum would have left them (it is off on some machines): the seed's
    # stock movements and opening charges updated every product and customer once,
    # so half their rows were dead.  The ledger seed vacuums its tables; without a
    # ledger seed, purchase-uniform ran at 454-504 req/s before this and 537-550
    # after (two runs each, on a machine whose speed varies more than that).
    with connect(url, autocommit=True) as connection:
        connection.execute(
            "VACUUM (ANALYZE) customers, products, stock_movements, orders, credit_ledger"
        )
    return Dataset(
        name="shop",
        business_id=business_id,
        tokens=tokens,
        pools={
            "customer": customer_ids,
            "product": product_ids,
            "hot_product": product_ids[:1],
            "amount": PAYMENT_AMOUNTS,
            **{
                f"counter_{line}": counter_ids[index * COUNTER_PRODUCTS :][:COUNTER_PRODUCTS]
                for index, line in enumerate("abc")
            },
            "counter_cash": [counter_sale_payments()[0]],
            "counter_upi": [counter_sale_payments()[1]],
        },
        seconds=time.perf_counter() - started,
        counts={"customers": customers, "products": products},
    )


def seed_ledger(
    url: str,
    *,
    customers: int = 100_000,
    entries: int = 2_000_000,
    days: int = 180,
    through_triggers: bool = False,
) -> Dataset:
    started = time.perf_counter()
    business_id, tokens = asyncio.run(business_with_keys(url, "Bench wholesaler"))
    with connect(url) as connection:
        with tenant(connection, business_id) as cursor:
            cursor.execute(
                "INSERT INTO customers (business_id, name, phone, credit_limit, payment_terms_days,"
                "   created_at)"
                " SELECT %(b)s,"
                "   (ARRAY['Asha','Ravi','Meena','Arjun','Priya','Karan','Divya','Sunil',"
                "          'Lakshmi','Vikram','Neha','Rahul','Fatima','Joseph','Anita'])"
                "     [1 + floor(random() * 15)] || ' ' ||"
                "   (ARRAY['Sharma','Iyer','Khan','Patel','Reddy','Das','Nair','Singh',"
                "          'Gupta','Menon','Rao','Joshi'])[1 + floor(random() * 12)]"
                "     || ' ' || n,"
                "   '+91 97' || lpad(n::text, 8, '0'), %(limit)s,"
                "   CASE WHEN n %% 10 = 0 THEN 15 WHEN n %% 10 = 1 THEN 60 END,"
                "   now() - make_interval(days => %(days)s + 1)"
                " FROM generate_series(1, %(customers)s) n",
                {"b": business_id, "customers": customers, "limit": CREDIT_LIMIT, "days": days},
            )
        fast = history.seed(
            connection, business_id=business_id, entries=entries, days=days,
            through_triggers=through_triggers,
        )  # fmt: skip
        with tenant(connection, business_id) as cursor:
            cursor.execute(
                "SELECT id FROM customers WHERE business_id = %s ORDER BY random() LIMIT %s",
                (business_id, POOL_SIZE),
            )
            pool = [str(row[0]) for row in cursor.fetchall()]
    with connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) customers, orders, payments, credit_ledger")
    return Dataset(
        name="ledger",
        business_id=business_id,
        tokens=tokens,
        pools={"customer": pool},
        seconds=time.perf_counter() - started,
        counts={"customers": customers, "entries": entries, "bulk_path": int(fast)},
    )
