"""The ``catalogue`` dataset (issue 18): 100,000 products and 100,000 customers in one
business, for ``product-search``, ``customer-search`` and ``barcode-lookup``.

Names are two to four words drawn from a grocery vocabulary plus a number, SKUs
and 13-digit barcodes are unique, so a search term matches a few to a few
hundred products, as in a real shop.  The search pool holds 3 to 6 character
pieces cut from seeded names, SKUs and barcodes, so every search finds
something; the customer search pool the same of seeded customers' names and phones;
the barcode pool holds seeded barcodes.  The business sits beside
whatever else the run seeded (the shop, the ledger): one among several.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench.database import connect, tenant
from bench.seed import Dataset, business_with_keys

WORDS = (
    "basmati", "rice", "sugar", "salt", "atta", "maida", "besan", "dal", "toor", "moong",
    "masoor", "chana", "rajma", "poha", "suji", "oil", "ghee", "butter", "paneer", "curd",
    "milk", "bread", "biscuit", "cookies", "namkeen", "chips", "soap", "shampoo", "paste",
    "brush", "detergent", "tea", "coffee", "jaggery", "honey", "jam", "pickle", "sauce",
    "ketchup", "noodles", "pasta", "oats", "cornflakes", "almonds", "cashew", "raisins",
    "pepper", "turmeric", "chilli", "coriander", "cumin", "mustard", "cardamom", "clove",
    "cinnamon",
)  # fmt: skip
POOL_SIZE = 1_000


def seed_catalogue(url: str, *, products: int = 100_000, customers: int = 100_000) -> Dataset:
    started = time.perf_counter()
    business_id, tokens = asyncio.run(business_with_keys(url, "Bench supermarket"))
    params = {"b": business_id, "products": products, "customers": customers, "words": list(WORDS)}
    with connect(url) as connection, tenant(connection, business_id) as cursor:
        cursor.execute(
            "INSERT INTO products (business_id, name, sku, price, barcode, category)"
            " SELECT %(b)s,"
            "   initcap(array_to_string(ARRAY(SELECT (%(words)s::text[])"
            "     [1 + floor(random() * cardinality(%(words)s::text[]))::int]"
            "     FROM generate_series(1, 2 + n %% 3) WHERE n > 0), ' ')) || ' ' || n,"
            "   'SKU-' || lpad(n::text, 6, '0'), (10 + floor(random() * 490))::bigint * 100,"
            "   (890000000000 + n * 7)::text || (n %% 10)::text,"
            "   (%(words)s::text[])[1 + n %% cardinality(%(words)s::text[])]"
            " FROM generate_series(1, %(products)s) n",
            params,
        )
        cursor.execute(
            "INSERT INTO customers (business_id, name, phone, credit_limit)"
            " SELECT %(b)s, 'Customer ' || md5(n::text), '+91 96' || lpad(n::text, 8, '0'), 0"
            " FROM generate_series(1, %(customers)s) n",
            params,
        )
        cursor.execute(
            "SELECT name, sku, barcode FROM products WHERE business_id = %s"
            " ORDER BY random() LIMIT %s",
            (business_id, POOL_SIZE),
        )
        sample = cursor.fetchall()
        cursor.execute(
            "SELECT name, phone FROM customers WHERE business_id = %s ORDER BY random() LIMIT %s",
            (business_id, POOL_SIZE),
        )
        people = cursor.fetchall()
    with connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) products, customers")
    rng = random.Random(18)

    def piece(text: str) -> str:
        """3 to 6 characters of ``text`` (the whole of it, if they are spaces)."""
        size = rng.randint(3, 6)
        start = rng.randint(0, max(0, len(text) - size))
        return text[start : start + size].strip() or text

    terms = [piece(rng.choice((name, name, sku, barcode))) for name, sku, barcode in sample]
    customer_terms = [piece(rng.choice((name, phone))) for name, phone in people]
    return Dataset(
        name="catalogue",
        business_id=business_id,
        tokens=tokens,
        pools={
            "search_term": terms,
            "customer_term": customer_terms,
            "barcode": [row[2] for row in sample],
        },
        seconds=time.perf_counter() - started,
        counts={"products": products, "customers": customers},
    )
