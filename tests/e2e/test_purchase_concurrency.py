"""Many clients at once on the same customers and products: real concurrent requests.

Each request runs through the in-process app and takes its own pooled
connection, so these are real concurrent PostgreSQL transactions.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.checkout import CartLine, Checkout, checkout
from app.domain.identity import Role
from app.domain.purchases import PurchaseLine, merge_lines
from app.services.verify import verify_business
from tests.conftest import Tenant, post_graphql
from tests.helpers import make_customer, make_product
from tests.purchases import (
    PURCHASE_LEAN,
    RECORD_PAYMENT,
    RESTOCK,
    new_key,
    numbered_bills,
    purchase_input,
    stock_of,
    written,
)

pytestmark = pytest.mark.both_routes


async def _gql(tenant: Tenant, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One request's answer; GraphQL errors (deadlocks, timeouts) are returned, not raised."""
    return await post_graphql(tenant.http, query, variables, token=tenant.keys[Role.CLERK])


async def _purchases(
    tenant: Tenant, requests: list[dict[str, Any]], query: str = PURCHASE_LEAN
) -> list[dict[str, Any]]:
    answers = await asyncio.gather(*(_gql(tenant, query, r) for r in requests))
    errors = [a["errors"] for a in answers if "errors" in a]
    assert not errors, errors
    return [a["data"]["purchase"] for a in answers]


async def test_sixty_buyers_race_for_the_last_twenty_five_units(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customers = [await make_customer(tenant, name=f"Buyer {n}") for n in range(12)]
    product = await make_product(tenant, price="10.00", stock=25)
    requests = [purchase_input(customers[n % 12], [(product, 1)]) for n in range(60)]

    results = await _purchases(tenant, requests)

    kinds = Counter(r["__typename"] for r in results)
    assert kinds == {"PurchaseCompleted": 25, "InsufficientStock": 35}
    assert all(
        r["lines"] == [{"productId": product, "requested": 1, "available": 0}]
        for r in results
        if r["__typename"] == "InsufficientStock"
    )
    assert await stock_of(owner_db, product) == 0
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["sales"]) == (25, 25, 25)
    assert await verify_business(owner_db, tenant.id) == []


async def test_fifty_purchases_against_a_limit_that_fits_ten(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant, credit_limit="100.00")
    product = await make_product(tenant, price="10.00", stock=1000)
    requests = [purchase_input(customer, [(product, 1)]) for _ in range(50)]

    results = await _purchases(tenant, requests)

    assert Counter(r["__typename"] for r in results) == {
        "PurchaseCompleted": 10,
        "CreditLimitExceeded": 40,
    }
    balances = sorted(
        Decimal(r["customer"]["balance"]) for r in results if r["__typename"] == "PurchaseCompleted"
    )
    assert balances == [Decimal(10 * n) for n in range(1, 11)]
    async with owner_db.connect() as connection:
        highest = (
            await connection.execute(
                text("SELECT max(balance_after) FROM credit_ledger WHERE customer_id = :c"),
                {"c": int(customer)},
            )
        ).scalar_one()
    assert highest == 100_00
    assert await stock_of(owner_db, product) == 990


async def test_purchases_of_the_same_products_in_opposite_orders_never_deadlock(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customers = [await make_customer(tenant) for _ in range(8)]
    a = await make_product(tenant, price="1.00", stock=1000)
    b = await make_product(tenant, price="2.00", stock=1000)
    requests = [
        purchase_input(customers[n % 8], [(a, 1), (b, 1)] if n % 2 else [(b, 1), (a, 1)])
        for n in range(60)
    ]

    results = await _purchases(tenant, requests)  # asserts no GraphQL error at all

    assert {r["__typename"] for r in results} == {"PurchaseCompleted"}
    assert (await stock_of(owner_db, a), await stock_of(owner_db, b)) == (940, 940)


async def test_twenty_identical_requests_with_one_key_make_one_order(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    product = await make_product(tenant, price="5.00", stock=100)
    request = purchase_input(customer, [(product, 2)], key=new_key())

    results = await _purchases(tenant, [request] * 20)

    assert {r["__typename"] for r in results} == {"PurchaseCompleted"}
    assert len({r["order"]["id"] for r in results}) == 1
    assert {r["customer"]["balance"] for r in results} == {"10.00"}
    counts = await written(owner_db, tenant.id)
    assert (counts["orders"], counts["charges"], counts["keys"]) == (1, 1, 1)
    assert await stock_of(owner_db, product) == 98


async def test_two_different_requests_racing_on_one_new_key_make_one_effect(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    # Different customers, so the customer lock does not serialise them: the
    # loser collides on the key's primary key, is retried and then finds the key.
    first, second = await make_customer(tenant), await make_customer(tenant)
    product = await make_product(tenant, stock=100)
    key = new_key()
    requests = [purchase_input(c, [(product, 1)], key=key) for c in (first, second) * 10]
    query = "mutation($input: PurchaseInput!) { purchase(input: $input) { __typename } }"

    results = await _purchases(tenant, requests, query)

    kinds = Counter(r["__typename"] for r in results)
    assert kinds["PurchaseCompleted"] >= 1
    assert kinds["PurchaseCompleted"] + kinds["IdempotencyKeyReused"] == 20
    assert (await written(owner_db, tenant.id))["orders"] == 1


async def test_identical_restocks_with_one_key_add_stock_once(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    product = await make_product(tenant, stock=10)
    request = {"input": {"productId": product, "quantity": 5, "idempotencyKey": new_key()}}

    answers = await asyncio.gather(
        *(tenant.data(RESTOCK, request, role=Role.CLERK) for _ in range(10))
    )

    assert {a["restockProduct"]["product"]["stock"] for a in answers} == {15}
    assert await stock_of(owner_db, product) == 15
    assert (await written(owner_db, tenant.id))["keys"] == 1


async def test_a_purchase_and_a_restock_racing_on_one_key_never_deadlock(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """Both lock the product before they store the key, so neither waits for the
    other while holding what the other needs: one effect, the other told the key
    is taken, and no deadlock for PostgreSQL to break (its counter stays put)."""
    customer = await make_customer(tenant)
    product = await make_product(tenant, stock=10)
    deadlocks = text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    async with owner_db.connect() as connection:
        before = (await connection.execute(deadlocks)).scalar_one()
    stock = 10
    for _ in range(10):
        key = new_key()
        restock_request = {"input": {"productId": product, "quantity": 1, "idempotencyKey": key}}
        purchased, restocked = await asyncio.gather(
            tenant.data(PURCHASE_LEAN, purchase_input(customer, [(product, 1)], key=key),
                        role=Role.CLERK),
            tenant.data(RESTOCK, restock_request, role=Role.CLERK),
        )  # fmt: skip
        kinds = sorted([purchased["purchase"]["__typename"],
                        restocked["restockProduct"]["__typename"]])  # fmt: skip
        assert kinds in (
            ["IdempotencyKeyReused", "PurchaseCompleted"],
            ["IdempotencyKeyReused", "ProductRestocked"],
        )
        stock += 1 if "ProductRestocked" in kinds else -1
    async with owner_db.connect() as connection:
        assert (await connection.execute(deadlocks)).scalar_one() == before
    assert await stock_of(owner_db, product) == stock


async def _bill_numbers(owner_db: AsyncEngine, business_id: int, count: int) -> list[int]:
    numbers = await numbered_bills(owner_db, business_id, count)
    return sorted(int(number.rsplit("-", 1)[1]) for number in numbers)


async def test_sixty_four_concurrent_sales_take_consecutive_bill_numbers(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """Walk-in, partly paid and credit sales of one business at once, with refusals in
    the mix: the sales that complete hold 1..N, each once, and the refusals none."""
    customers = [await make_customer(tenant, credit_limit="100.00") for _ in range(8)]
    product = await make_product(tenant, price="10.00", stock=1000)
    requests = []
    for n in range(64):
        request = purchase_input(customers[n % 8], [(product, 1)])
        if n % 4 == 0:  # walk-in, paid in full
            del request["input"]["customerId"]
            request["input"]["payments"] = [{"amount": "10.00", "method": "CASH"}]
        elif n % 4 == 1:  # partly paid
            request["input"]["payments"] = [{"amount": "4.00", "method": "UPI"}]
        requests.append(request)
    refusals = [purchase_input(customers[0], [(product, 11)])]  # over the limit
    walk_in_on_credit = purchase_input(customers[0], [(product, 1)])
    del walk_in_on_credit["input"]["customerId"]
    refusals.append(walk_in_on_credit)
    mixed = requests[:20] + refusals + requests[20:]
    query = (
        "mutation($input: PurchaseInput!) { purchase(input: $input) {"
        " __typename ... on PurchaseCompleted { order { number } } } }"
    )

    results = await _purchases(tenant, mixed, query)

    kinds = Counter(r["__typename"] for r in results)
    assert kinds == {"PurchaseCompleted": 64, "CreditLimitExceeded": 1, "InvalidInput": 1}
    year = results[0]["order"]["number"].split("-")[1]
    numbers = sorted(r["order"]["number"] for r in results if "order" in r)
    assert numbers == [f"BILL-{year}-{n:06d}" for n in range(1, 65)]
    assert await verify_business(owner_db, tenant.id) == []


async def test_a_storm_of_sales_payments_and_restocks_keeps_every_invariant(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """Credit, partly paid and walk-in sales (with line and bill discounts, taxed at
    5%) race payments and restocks: stock, books and bill numbers all hold."""
    rng = random.Random(7)
    await tenant.data(SETTINGS, {"input": {"defaultTaxRate": "5"}})
    customers = [await make_customer(tenant, credit_limit="300.00") for _ in range(6)]
    prices = {
        await make_product(tenant, price=f"{p}.00", stock=15): p * 100 for p in (1, 2, 3, 5, 8)
    }
    initial = dict.fromkeys(prices, 15)
    products = list(initial)
    for customer in customers:  # something to pay off from the start
        await _purchases(tenant, [purchase_input(customer, [(products[0], 2)])])

    operations: list[tuple[str, dict[str, Any]]] = []
    for _ in range(150):
        roll = rng.random()
        if roll < 0.6:
            lines = [(rng.choice(products), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
            operations.append(("purchase", _sale(rng, rng.choice(customers), lines, prices)))
        elif roll < 0.85:
            request = {"customerId": rng.choice(customers), "amount": f"{rng.randint(1, 6)}.00",
                       "method": "CASH", "idempotencyKey": new_key()}  # fmt: skip
            operations.append(("payment", {"input": request}))
        else:
            request = {"productId": rng.choice(products), "quantity": rng.randint(1, 4),
                       "idempotencyKey": new_key()}  # fmt: skip
            operations.append(("restock", {"input": request}))
    queries = {"purchase": STORM_SALE, "payment": RECORD_PAYMENT, "restock": RESTOCK}

    answers = await asyncio.gather(*(_gql(tenant, queries[k], v) for k, v in operations))

    assert [a["errors"] for a in answers if "errors" in a] == []
    sold: Counter[str] = Counter({products[0]: 2 * len(customers)})
    restocked: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for (_, variables), answer in zip(operations, answers, strict=True):
        result = next(iter(answer["data"].values()))
        outcomes[result["__typename"]] += 1
        if result["__typename"] == "PurchaseCompleted":
            for item in variables["input"]["items"]:
                sold[item["productId"]] += item["quantity"]
        elif result["__typename"] == "ProductRestocked":
            restocked[variables["input"]["productId"]] += variables["input"]["quantity"]
    for product in products:
        assert (
            await stock_of(owner_db, product)
            == initial[product] + restocked[product] - sold[product]
        )
    assert outcomes["PurchaseCompleted"] > 10
    assert outcomes["PaymentRecorded"] > 5
    statuses = Counter(
        next(iter(a["data"].values()))["order"]["paymentStatus"]
        for a in answers
        if next(iter(a["data"].values()))["__typename"] == "PurchaseCompleted"
    )
    assert min(statuses[s] for s in ("PAID", "PARTIAL", "CREDIT")) > 3, statuses
    completed = outcomes["PurchaseCompleted"] + len(customers)
    assert await _bill_numbers(owner_db, tenant.id, completed) == list(range(1, completed + 1))
    assert await verify_business(owner_db, tenant.id) == []


SETTINGS = "mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { __typename } }"
STORM_SALE = """
mutation($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id total paymentStatus } customer { balance } }
  }
}
"""


def _sale(
    rng: random.Random, customer: str, lines: list[tuple[str, int]], prices: dict[str, int]
) -> dict[str, Any]:
    """A sale on credit, partly paid, or (a third each) a walk-in paid in full, with a
    line discount and a bill discount; what it comes to is app.domain.checkout's."""
    request = purchase_input(customer, lines)
    items = request["input"]["items"]
    items[0]["discount"] = "0.50"
    request["input"]["discount"] = "0.25"
    merged = merge_lines(PurchaseLine(p, q, 50 if n == 0 else 0) for n, (p, q) in enumerate(lines))
    sale = checkout(
        [CartLine(prices[str(line.product_id)], line.quantity, line.discount, 500)
         for line in merged],
        bill_discount=25, payments=[], prices_include_tax=False, walk_in=False,
    )  # fmt: skip
    assert isinstance(sale, Checkout)
    kind = rng.randrange(3)
    if kind == 0:
        del request["input"]["customerId"]
        paid = sale.total
        request["input"]["payments"] = [
            {"amount": str(Decimal(paid - 100) / 100), "method": "CASH"},
            {"amount": "1.00", "method": "UPI", "reference": "UPI-1"},
        ]
    elif kind == 1:
        request["input"]["payments"] = [{"amount": "1.00", "method": "CASH"}]
    return request
