"""Random sequences of purchases, payments, restocks, price and limit changes, replays
and reused keys, and the corrections (voids, returns, payment reversals, write-offs and
corrections of balances, stock adjustments), sent through the GraphQL API and mirrored
in a small in-memory model.
After every step the service and the model must agree on every balance, limit and
stock level, and every answer (including which operations were refused, and why)
must be the one the model predicts; every customer's overdue status (now, and at
instants where charges fall due) must be what ``app.domain.overdue`` computes from
their ledger, corrections included.

Hypothesis drives the steps synchronously, so the machine runs in a worker thread
with its own event loop, app instance and business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from app.config import Settings
from app.db.engine import owner_engine
from app.domain.identity import Role
from app.domain.overdue import DAY, due_at, overdue_status
from app.domain.purchases import PurchaseLine, merge_lines
from app.main import create_app
from app.services.verify import verify_business
from tests.conftest import Tenant, new_tenant
from tests.corrections import (
    ADJUST_BALANCE,
    ADJUST_STOCK,
    RETURN_ITEMS,
    REVERSE_PAYMENT,
    VOID_ORDER,
)
from tests.helpers import make_customer, make_product
from tests.ledger_data import ledger_entries
from tests.purchases import RECORD_PAYMENT, RESTOCK, new_key, purchase_input

T = TypeVar("T")
CUSTOMERS, PRODUCTS = 2, 3
LINE = st.tuples(st.integers(0, PRODUCTS - 1), st.integers(1, 4))
TERMS = 30
"""The test business's payment terms, which its customers keep."""
OVERDUE_FIELDS = "asOf balance isOverdue overdueAmount oldestUnpaidAt daysOverdue"
UPDATE_CUSTOMER = (
    "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { __typename } }"
)


PURCHASE = """
mutation($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id total } customer { balance } }
    ... on InsufficientStock { lines { productId requested available } }
    ... on CreditLimitExceeded { creditLimit balance orderTotal }
    ... on PriceChanged { actualTotal }
  }
}
"""


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


class World:
    """A business served by its own app, driven from the machine's thread."""

    def __init__(self, database_url: str) -> None:
        self.runner = asyncio.Runner()
        self.database_url = database_url
        self.stack = AsyncExitStack()
        self.tenant: Tenant

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    async def start(self) -> None:
        app = create_app(
            Settings(database_url=self.database_url, auth_cache_seconds=0, pool_size=4)
        )
        await self.stack.enter_async_context(app.starlette.router.lifespan_context(app.starlette))
        client = await self.stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )
        self.owner = owner_engine(self.database_url)
        self.stack.push_async_callback(self.owner.dispose)
        self.tenant = await new_tenant(self.owner, client)

    async def state(
        self, customers: list[str], products: list[str]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(balance, limit) per customer and (stock, price) per product, read directly."""
        async with self.owner.connect() as connection:
            balances = await connection.execute(
                text(
                    "SELECT balance, credit_limit FROM customers WHERE id = ANY(:ids) ORDER BY id"
                ),
                {"ids": [int(c) for c in customers]},
            )
            stocks = await connection.execute(
                text("SELECT stock, price FROM products WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": [int(p) for p in products]},
            )
            return [tuple(r) for r in balances], [tuple(r) for r in stocks]  # type: ignore[misc]

    def close(self) -> None:
        self.run(self.stack.aclose())
        self.runner.close()


@dataclass
class Remembered:
    request: dict[str, Any]
    answer: dict[str, Any]


@dataclass
class Sold:
    """An order as the model knows it: units and prices per product index."""

    customer: int
    lines: dict[int, tuple[int, int]]
    total: int
    voided: bool = False
    returned: dict[int, int] = field(default_factory=dict)


@dataclass
class Paid:
    customer: int
    amount: int
    reversed: bool = False


@dataclass
class Correction:
    """A correction's request; its replay must succeed again and change nothing."""

    mutation: str
    request: dict[str, Any]
    typename: str


@dataclass
class Model:
    limits: list[int]
    balances: list[int]
    prices: list[int]
    stocks: list[int]
    keys: dict[str, Remembered] = field(default_factory=dict)
    orders: dict[str, Sold] = field(default_factory=dict)
    payments: dict[str, Paid] = field(default_factory=dict)
    corrections: dict[str, Correction] = field(default_factory=dict)


class PurchaseMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.customers: list[str] = []
        self.products: list[str] = []
        self.model = Model([], [], [], [])

    def gql(self, query: str, variables: dict[str, Any], role: Role = Role.CLERK) -> Any:
        data = self.world.run(self.world.tenant.data(query, variables, role=role))
        return next(iter(data.values()))

    @initialize(
        limits=st.lists(st.integers(0, 20_000), min_size=CUSTOMERS, max_size=CUSTOMERS),
        prices=st.lists(st.integers(0, 3_000), min_size=PRODUCTS, max_size=PRODUCTS),
        stocks=st.lists(st.integers(0, 8), min_size=PRODUCTS, max_size=PRODUCTS),
    )
    def create(self, limits: list[int], prices: list[int], stocks: list[int]) -> None:
        tenant = self.world.tenant
        for limit in limits:
            self.customers.append(self.world.run(make_customer(tenant, credit_limit=money(limit))))
        for price, stock in zip(prices, stocks, strict=True):
            self.products.append(
                self.world.run(make_product(tenant, price=money(price), stock=stock))
            )
        self.model = Model(list(limits), [0] * CUSTOMERS, list(prices), list(stocks))

    def expected_purchase(
        self, customer: int, lines: list[tuple[int, int]], expected: int | None
    ) -> dict[str, Any]:
        m = self.model
        merged = merge_lines(PurchaseLine(p, q) for p, q in lines)
        short = [
            {"productId": self.products[line.product_id], "requested": line.quantity,
             "available": m.stocks[line.product_id]}
            for line in merged if line.quantity > m.stocks[line.product_id]
        ]  # fmt: skip
        total = sum(line.quantity * m.prices[line.product_id] for line in merged)
        if short:
            short.sort(key=lambda line: int(line["productId"]))
            return {"__typename": "InsufficientStock", "lines": short}
        if expected is not None and expected != total:
            return {"__typename": "PriceChanged", "total": total}
        if m.balances[customer] + total > m.limits[customer]:
            return {"__typename": "CreditLimitExceeded", "creditLimit": money(m.limits[customer]),
                    "balance": money(m.balances[customer]), "orderTotal": money(total)}  # fmt: skip
        for line in merged:
            m.stocks[line.product_id] -= line.quantity
        m.balances[customer] += total
        return {"__typename": "PurchaseCompleted", "total": money(total),
                "balance": money(m.balances[customer])}  # fmt: skip

    @rule(
        customer=st.integers(0, CUSTOMERS - 1),
        lines=st.lists(LINE, min_size=1, max_size=4),
        send_total=st.sampled_from(["none", "right", "wrong"]),
    )
    def purchase(self, customer: int, lines: list[tuple[int, int]], send_total: str) -> None:
        merged = merge_lines(PurchaseLine(p, q) for p, q in lines)
        right = sum(line.quantity * self.model.prices[line.product_id] for line in merged)
        expected = {"none": None, "right": right, "wrong": right + 1}[send_total]
        key = new_key()
        request = purchase_input(
            self.customers[customer],
            [(self.products[p], q) for p, q in lines],
            key=key,
            expected_total=None if expected is None else money(expected),
        )
        predicted = self.expected_purchase(customer, lines, expected)
        answer = self.gql(PURCHASE, request)
        assert answer["__typename"] == predicted["__typename"], (answer, predicted)
        match answer["__typename"]:
            case "PurchaseCompleted":
                assert answer["order"]["total"] == predicted["total"]
                assert answer["customer"]["balance"] == predicted["balance"]
                self.model.keys[key] = Remembered(request, answer)
                units: dict[int, int] = {}
                for product, quantity in lines:
                    units[product] = units.get(product, 0) + quantity
                self.model.orders[answer["order"]["id"]] = Sold(
                    customer,
                    {p: (q, self.model.prices[p]) for p, q in units.items()},
                    sum(q * self.model.prices[p] for p, q in units.items()),
                )
            case "InsufficientStock":
                assert answer["lines"] == predicted["lines"]
            case "CreditLimitExceeded":
                assert answer == predicted
            case "PriceChanged":
                assert answer["actualTotal"] == money(predicted["total"])

    @precondition(lambda self: bool(self.model.keys))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.keys)))
        remembered = self.model.keys[key]
        mutation = PURCHASE if "items" in remembered.request["input"] else RECORD_PAYMENT
        assert self.gql(mutation, remembered.request) == remembered.answer

    @precondition(lambda self: bool(self.model.keys))
    @rule(data=st.data())
    def reuse_key_for_another_request(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.keys)))
        request = purchase_input(self.customers[0], [(self.products[0], 99)], key=key)
        answer = self.gql(PURCHASE, request)
        assert answer == {"__typename": "IdempotencyKeyReused"}

    @rule(customer=st.integers(0, CUSTOMERS - 1), cents=st.integers(1, 5_000))
    def pay(self, customer: int, cents: int) -> None:
        key = new_key()
        request = {"input": {"customerId": self.customers[customer], "amount": money(cents),
                             "method": "UPI", "idempotencyKey": key}}  # fmt: skip
        answer = self.gql(RECORD_PAYMENT, request)
        balance = self.model.balances[customer]
        if cents > balance:
            assert answer["__typename"] == "PaymentExceedsBalance"
            assert (answer["balance"], answer["amount"]) == (money(balance), money(cents))
            return
        self.model.balances[customer] -= cents
        assert answer["__typename"] == "PaymentRecorded"
        assert answer["customer"]["balance"] == money(self.model.balances[customer])
        self.model.keys[key] = Remembered(request, answer)
        self.model.payments[answer["payment"]["id"]] = Paid(customer, cents)

    def correct(self, mutation: str, request: dict[str, Any], role: Role) -> Any:
        """Send a correction; remember it for a replay when it succeeded."""
        answer = self.gql(mutation, request, role=role)
        if answer["__typename"] in {"OrderVoided", "ItemsReturned", "PaymentReversed",
                                    "BalanceAdjusted", "StockAdjusted"}:  # fmt: skip
            key = request["input"]["idempotencyKey"]
            self.model.corrections[key] = Correction(mutation, request, answer["__typename"])
        return answer

    @precondition(lambda self: bool(self.model.orders))
    @rule(data=st.data())
    def void_order(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.model.orders)))
        sold = self.model.orders[order_id]
        request = {"input": {"orderId": order_id, "reason": "Model", "idempotencyKey": new_key()}}
        answer = self.correct(VOID_ORDER, request, Role.OWNER)
        if sold.voided:
            assert answer["__typename"] == "AlreadyVoided"
        elif any(sold.returned.values()):
            assert answer["__typename"] == "InvalidInput"
        else:
            assert answer["__typename"] == "OrderVoided", answer
            sold.voided = True
            for product, (quantity, _) in sold.lines.items():
                self.model.stocks[product] += quantity
            self.model.balances[sold.customer] -= sold.total
            assert answer["customer"]["balance"] == money(self.model.balances[sold.customer])

    @precondition(lambda self: bool(self.model.orders))
    @rule(data=st.data(), lines=st.lists(LINE, min_size=1, max_size=3))
    def return_items(self, data: st.DataObject, lines: list[tuple[int, int]]) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.model.orders)))
        sold, m = self.model.orders[order_id], self.model
        wanted: dict[int, int] = {}
        for product, quantity in lines:
            wanted[product] = wanted.get(product, 0) + quantity
        request = {"input": {
            "orderId": order_id, "refundMethod": "CASH", "idempotencyKey": new_key(),
            "items": [{"productId": self.products[p], "quantity": q} for p, q in lines],
        }}  # fmt: skip
        answer = self.correct(RETURN_ITEMS, request, Role.CLERK)
        over = [p for p, q in wanted.items()
                if p in sold.lines and sold.returned.get(p, 0) + q > sold.lines[p][0]]  # fmt: skip
        if sold.voided or any(p not in sold.lines for p in wanted):
            assert answer["__typename"] == "InvalidInput", answer
        elif over:
            assert answer["__typename"] == "ReturnExceedsSold", answer
            assert sorted(int(line["productId"]) for line in answer["lines"]) == sorted(
                int(self.products[p]) for p in over
            )
        else:
            assert answer["__typename"] == "ItemsReturned", answer
            credit = sum(q * sold.lines[p][1] for p, q in wanted.items())
            credited = min(credit, max(m.balances[sold.customer], 0))
            for product, quantity in wanted.items():
                sold.returned[product] = sold.returned.get(product, 0) + quantity
                m.stocks[product] += quantity
            m.balances[sold.customer] -= credited
            assert answer["orderReturn"]["creditAmount"] == money(credit)
            assert answer["orderReturn"]["refunded"] == money(credit - credited)

    @precondition(lambda self: bool(self.model.payments))
    @rule(data=st.data())
    def reverse_payment(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(sorted(self.model.payments)))
        paid = self.model.payments[payment_id]
        request = {"input": {"paymentId": payment_id, "reason": "Bounced",
                             "idempotencyKey": new_key()}}  # fmt: skip
        answer = self.correct(REVERSE_PAYMENT, request, Role.OWNER)
        if paid.reversed:
            assert answer["__typename"] == "AlreadyReversed"
            return
        assert answer["__typename"] == "PaymentReversed"
        paid.reversed = True
        self.model.balances[paid.customer] += paid.amount
        balance, limit = self.model.balances[paid.customer], self.model.limits[paid.customer]
        assert answer["customer"]["overLimit"] is (balance > limit)

    @rule(
        customer=st.integers(0, CUSTOMERS - 1),
        cents=st.integers(-3_000, 3_000).filter(bool),
        kind=st.sampled_from(["WRITE_OFF", "CORRECTION"]),
    )
    def adjust_balance(self, customer: int, cents: int, kind: str) -> None:
        if kind == "WRITE_OFF":
            cents = abs(cents)
        adjustment = {"amount": money(cents), "kind": kind, "reason": "Model"}
        request = {"input": {"customerId": self.customers[customer], **adjustment,
                             "idempotencyKey": new_key()}}  # fmt: skip
        answer = self.correct(ADJUST_BALANCE, request, Role.OWNER)
        if kind == "WRITE_OFF" and cents > self.model.balances[customer]:
            assert answer["__typename"] == "WriteOffExceedsBalance"
            return
        self.model.balances[customer] += -cents if kind == "WRITE_OFF" else cents
        assert answer["customer"]["balance"] == money(self.model.balances[customer])

    @rule(product=st.integers(0, PRODUCTS - 1), change=st.integers(-5, 5).filter(bool))
    def adjust_stock(self, product: int, change: int) -> None:
        request = {"input": {"productId": self.products[product], "change": change,
                             "reason": "COUNT", "idempotencyKey": new_key()}}  # fmt: skip
        answer = self.correct(ADJUST_STOCK, request, Role.CLERK)
        if self.model.stocks[product] + change < 0:
            assert answer["__typename"] == "InsufficientStock"
            return
        self.model.stocks[product] += change
        assert answer["product"]["stock"] == self.model.stocks[product]

    @precondition(lambda self: bool(self.model.corrections))
    @rule(data=st.data())
    def replay_correction(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.corrections)))
        done = self.model.corrections[key]
        role = Role.CLERK if done.mutation in {RETURN_ITEMS, ADJUST_STOCK} else Role.OWNER
        assert self.gql(done.mutation, done.request, role=role)["__typename"] == done.typename

    @rule(product=st.integers(0, PRODUCTS - 1), quantity=st.integers(1, 5))
    def restock(self, product: int, quantity: int) -> None:
        request = {"input": {"productId": self.products[product], "quantity": quantity,
                             "idempotencyKey": new_key()}}  # fmt: skip
        self.model.stocks[product] += quantity
        answer = self.gql(RESTOCK, request)
        assert answer["product"]["stock"] == self.model.stocks[product]

    @rule(product=st.integers(0, PRODUCTS - 1), cents=st.integers(0, 3_000))
    def change_price(self, product: int, cents: int) -> None:
        self.model.prices[product] = cents
        self.gql(
            "mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }",
            {"input": {"productId": self.products[product], "price": money(cents)}},
        )

    @rule(customer=st.integers(0, CUSTOMERS - 1), cents=st.integers(0, 20_000))
    def change_limit(self, customer: int, cents: int) -> None:
        self.model.limits[customer] = cents
        self.gql(
            UPDATE_CUSTOMER,
            {"input": {"customerId": self.customers[customer], "creditLimit": money(cents)}},
            role=Role.OWNER,
        )

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        if not self.customers:
            return
        state = self.world.run(self.world.state(self.customers, self.products))
        m = self.model
        assert state == (
            list(zip(m.balances, m.limits, strict=True)),
            list(zip(m.stocks, m.prices, strict=True)),
        )

    @invariant()
    def overdue_agrees_with_the_reference(self) -> None:
        world = self.world
        history = world.run(ledger_entries(world.owner, world.tenant.id))
        for customer in self.customers:
            entries = history.get(int(customer), [])
            due: set[datetime] = set()
            # Just after the first and the last entry fall due, and a whole day later.
            for made in {entry.created_at for entry in entries[:1] + entries[-1:]}:
                due |= {due_at(made, TERMS) + timedelta(microseconds=1), due_at(made, TERMS) + DAY}
            instants = [None, *sorted(due)]
            fields = [
                f"a{k}: overdue(asOf: {self._literal(at)}) {{ {OVERDUE_FIELDS} }}"
                for k, at in enumerate(instants)
            ]
            query = f'{{ customer(id: "{customer}") {{ {" ".join(fields)} }} }}'
            answers = world.run(world.tenant.data(query))["customer"]
            for k, at in enumerate(instants):
                got = answers[f"a{k}"]
                as_of = datetime.fromisoformat(got["asOf"])
                expected = overdue_status(entries, as_of=as_of, terms_days=TERMS)
                oldest = expected.oldest_unpaid_at
                assert got == {
                    "asOf": got["asOf"],
                    "balance": money(expected.balance),
                    "isOverdue": expected.is_overdue,
                    "overdueAmount": money(expected.overdue_amount),
                    "oldestUnpaidAt": None if oldest is None else got["oldestUnpaidAt"],
                    "daysOverdue": expected.days_overdue,
                }, (customer, at)
                if oldest is not None:
                    assert datetime.fromisoformat(got["oldestUnpaidAt"]) == oldest, (customer, at)

    @staticmethod
    def _literal(at: datetime | None) -> str:
        return "null" if at is None else f'"{at.isoformat()}"'

    def teardown(self) -> None:
        if not self.customers:
            return
        fields = [
            f'c{n}: customer(id: "{c}") {{ balance creditLimit availableCredit }}'
            for n, c in enumerate(self.customers)
        ] + [f'p{n}: product(id: "{p}") {{ stock price }}' for n, p in enumerate(self.products)]
        state = self.world.run(self.world.tenant.data("{ " + " ".join(fields) + " }"))
        m = self.model
        for n in range(CUSTOMERS):
            assert state[f"c{n}"] == {
                "balance": money(m.balances[n]),
                "creditLimit": money(m.limits[n]),
                "availableCredit": money(max(m.limits[n] - m.balances[n], 0)),
            }
        for n in range(PRODUCTS):
            assert state[f"p{n}"] == {"stock": m.stocks[n], "price": money(m.prices[n])}
        assert self.world.run(verify_business(self.world.owner, self.world.tenant.id)) == []


def _run_machine(database_url: str) -> None:
    world = World(database_url)
    try:
        world.run(world.start())
        PurchaseMachine.world = world
        run_state_machine_as_test(
            PurchaseMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=30,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        world.close()


@pytest.mark.slow
def test_random_operation_sequences_agree_with_an_in_memory_model(database_url: str) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(_run_machine, database_url).result()
