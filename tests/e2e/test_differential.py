"""The service answers every request exactly as Strawberry's stock pipeline does.

Two copies of the service, each on a fresh database seeded the same way: one with
the execution engine (``FAST_EXECUTION`` on, as deployed), one on Strawberry's
stock pipeline built from the same types (``FAST_EXECUTION=0``).  A generator
composes documents from the parts clients and mistakes are made of (aliases, the
same field with other arguments, fragments on unions and on types that do not
match, ``@include``/``@skip`` with literals and with variables true, false, null or
missing, several operations with and without ``operationName``, bad and missing
variables, literals of every custom scalar, an error in one of several root
fields, lists, introspection), and sends each one three times, with no key, a bad
key and each role's key, to both.  The answers (status, headers that matter, body
byte for byte, key order included) must be identical, send for send.

Only where stock Strawberry breaks the GraphQL specification does the service
answer differently, on every send (``app.graphql.spec``): a document with several
operations and no ``operationName`` is an error, never its first operation.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse

from app.config import Settings
from app.db.engine import owner_engine
from app.db.migrations import upgrade
from app.domain.identity import Role
from app.graphql.engine.plans import QueryPlan
from app.graphql.spec import MULTIPLE_OPERATIONS
from app.main import create_app
from app.services import admin
from tests.db import create_database, drop_database

SEED = 20261203
DOCUMENTS = 300
SENDS = 3

CUSTOMER_FIELDS = ["id", "name", "phone", "balance", "creditLimit", "availableCredit",
                   "paymentTermsDays", "__typename"]  # fmt: skip
PRODUCT_FIELDS = ["id", "name", "sku", "price", "stock", "__typename"]
MONEY_LITERALS = ['"12.50"', '"0"', '"-1.00"', '"NaN"', "10", '"1e309"', '"12.345"', '""', "null"]
DATETIME_LITERALS = ['"2024-01-01T00:00:00Z"', '"2024-01-01T00:00:00"', '"garbage"',
                     '"9999-12-31T23:59:59Z"', "5", "null"]  # fmt: skip
NAME_LITERALS = ['"Chitra"', '" "', '""']
ID_LITERALS = ['"1"', '"2"', '"999999"', '"abc"', "3", '""']
CALLERS = ["none", "bad", *(role.value for role in Role)]


@dataclass
class Service:
    client: httpx.AsyncClient
    tokens: dict[str, str]


async def _service(server: str, *, fast: bool) -> AsyncIterator[Service]:
    url = create_database(server, prefix="credit_ledger_diff")
    try:
        upgrade(url)
        owner = owner_engine(url)
        business = await admin.create_business(owner, name="Diff shop", currency="INR")
        tokens = {
            role.value: (await admin.create_key(owner, business_id=business, role=role)).token
            for role in Role
        }
        await owner.dispose()
        settings = Settings(database_url=url, auth_cache_seconds=0, pool_size=4,
                            fast_execution=fast)  # fmt: skip
        app = create_app(settings)
        async with app.starlette.router.lifespan_context(app.starlette):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                service = Service(client, tokens)
                await _seed(service)
                yield service
    finally:
        drop_database(server, url)


async def _seed(service: Service) -> None:
    """The same customers, products and sales in both databases, so ids match."""
    owner = {"Authorization": f"Bearer {service.tokens['owner']}"}
    seed = [
        ('mutation { createCustomer(input: {name: "Asha", phone: "98450", creditLimit: "500.00"})'
         " { __typename } }"),
        'mutation { createCustomer(input: {name: "Bela", creditLimit: "0"}) { __typename } }',
        ('mutation { createProduct(input: {name: "Rice", sku: "R1", price: "55.00", stock: 40})'
         " { __typename } }"),
        ('mutation { createProduct(input: {name: "Dal", sku: "D1", price: "120.50", stock: 3})'
         " { __typename } }"),
        ('mutation { purchase(input: {customerId: "1", idempotencyKey: "seed-1",'
         ' items: [{productId: "1", quantity: 2}]}) { __typename } }'),
    ]  # fmt: skip
    for query in seed:
        response = await service.client.post("/graphql", json={"query": query}, headers=owner)
        assert "errors" not in response.json(), response.text


@pytest.fixture(scope="module")
async def fast(server: str) -> AsyncIterator[Service]:
    async for service in _service(server, fast=True):
        yield service


@pytest.fixture(scope="module")
async def stock(server: str) -> AsyncIterator[Service]:
    async for service in _service(server, fast=False):
        yield service


class Generator:
    """Random requests from a fixed seed: the same run every time."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.variables: dict[str, Any] = {}
        self.definitions: list[str] = []

    def pick(self, items: list[Any]) -> Any:
        return self.random.choice(items)

    def some(self, items: list[str], most: int = 4) -> list[str]:
        return self.random.sample(items, self.random.randint(1, min(most, len(items))))

    def directive(self) -> str:
        """Nothing mostly; else @include/@skip with a literal or a variable."""
        roll = self.random.random()
        if roll < 0.7:
            return ""
        name = self.pick(["include", "skip"])
        if roll < 0.8:
            return f" @{name}(if: {self.pick(['true', 'false'])})"
        variable = f"v{len(self.definitions)}"
        declared = self.pick(["Boolean", "Boolean = true", "Boolean = false", "Boolean!"])
        self.definitions.append(f"${variable}: {declared}")
        value = self.pick([True, False, None, "missing", "missing", "wrong"])
        if value == "wrong":
            self.variables[variable] = "yes"
        elif value != "missing":
            self.variables[variable] = value
        return f" @{name}(if: ${variable})"

    def leaves(self, fields: list[str]) -> str:
        chosen = []
        for field in self.some(fields, 5):
            alias = (
                f"{self.pick(['a', 'b', 'x'])}{len(chosen)}: " if self.random.random() < 0.2 else ""
            )
            chosen.append(f"{alias}{field}{self.directive()}")
        return " ".join(chosen)

    def customer(self) -> str:
        parts = [self.leaves(CUSTOMER_FIELDS)]
        roll = self.random.random()
        if roll < 0.2:
            as_of = self.pick(DATETIME_LITERALS)
            parts.append(f"overdue(asOf: {as_of}) {{ isOverdue balance daysOverdue }}")
        elif roll < 0.3:
            parts.append("... on Customer { name }")
        elif roll < 0.35:
            parts.append("... on Product { sku }")  # can never match: a validation error
        elif roll < 0.45:
            parts.append(f"ledger(first: {self.pick([1, 5, 0, -1, 1000])})"
                         " { edges { node { kind amount balanceAfter } } }")  # fmt: skip
        return " ".join(parts)

    def root_query(self) -> str:
        first = self.pick(["1", "2", "20", "0", "-5", "101", '"x"', "$first"])
        if first == "$first":
            self.definitions.append(f"$first: Int{self.pick(['', '!', ' = 2'])}")
            value = self.pick([1, None, "two", 3, "missing"])
            if value != "missing":
                self.variables["first"] = value
        choices = [
            lambda: (
                f"customers(first: {first}) {{ edges {{ cursor node {{ {self.customer()} }} }}"
                " pageInfo { hasNextPage endCursor } }"
            ),
            lambda: f"customer(id: {self.pick(ID_LITERALS)}) {{ {self.customer()} }}",
            lambda: f"product(id: {self.pick(ID_LITERALS)}) {{ {self.leaves(PRODUCT_FIELDS)} }}",
            lambda: (
                f'products(first: {first}, search: "{self.pick(["r", "", "%", "zz"])}")'
                f" {{ edges {{ node {{ {self.leaves(PRODUCT_FIELDS)} }} }} }}"
            ),
            lambda: (
                f"balances(customerIds: [{', '.join(self.some(ID_LITERALS))}])"
                " { customerId balance availableCredit }"
            ),
            lambda: (
                f"overdueCustomers(first: {first}) {{ edges {{ node {{ daysOverdue"
                " customer { name } } } }"
            ),
            lambda: (
                f"agingReport(asOf: {self.pick(DATETIME_LITERALS)}) {{ total customerCount"
                " buckets { label amount } }"
            ),
            lambda: "viewer { role business { name currency paymentTermsDays } }",
            lambda: f"order(id: {self.pick(ID_LITERALS)}) {{ id total items {{ quantity }} }}",
            lambda: "__typename",
            lambda: '__type(name: "Customer") { name fields { name } }',
            lambda: "__schema { queryType { name } mutationType { name } }",
            lambda: "noSuchField",
        ]
        return self.pick(choices)()

    def root_mutation(self) -> str:
        results = "__typename ... on InvalidInput { message fields { field message } }"
        choices = [
            lambda: (
                f"createCustomer(input: {{name: {self.pick(NAME_LITERALS)},"
                f" creditLimit: {self.pick(MONEY_LITERALS)}}})"
                f" {{ {results} ... on CustomerCreated {{ customer {{ {self.customer()} }} }} }}"
            ),
            lambda: (
                f"recordPayment(input: {{customerId: {self.pick(ID_LITERALS)}, amount:"
                f" {self.pick(MONEY_LITERALS)}, method: {self.pick(['CASH', 'UPI', 'GOLD'])},"
                f' idempotencyKey: "{self.pick(["k1", "k2", ""])}"}}) {{ {results}'
                " ... on PaymentRecorded { customer { balance } } ... on NotFound { message } }"
            ),
            lambda: (
                f"purchase(input: {{customerId: {self.pick(ID_LITERALS)}, idempotencyKey:"
                f' "{self.pick(["p1", "p2"])}", items: [{{productId: {self.pick(ID_LITERALS)},'
                f" quantity: {self.pick([1, 2, 0, 100])}}}]}}) {{ {results}"
                " ... on PurchaseCompleted { order { total } customer { balance } }"
                " ... on InsufficientStock { lines { requested available } } }"
            ),
        ]
        return self.pick(choices)()

    def operation(self, kind: str, name: str | None) -> str:
        self.definitions = []
        roots = [self.root_query() if kind == "query" else self.root_mutation()
                 for _ in range(self.random.randint(1, 3))]  # fmt: skip
        aliased = [f"r{i}: {root}" if self.random.random() < 0.5 and not root.startswith("__")
                   else root for i, root in enumerate(roots)]  # fmt: skip
        header = kind + (f" {name}" if name else "")
        if self.definitions:
            header += f"({', '.join(self.definitions)})"
        return f"{header} {{ {' '.join(aliased)} }}"

    def request(self) -> tuple[dict[str, Any], str]:
        """A request body and the caller to send it as."""
        self.variables = {}
        kinds = ["query"] * 3 + ["mutation"]
        count = self.pick([1, 1, 1, 1, 2])
        names = (
            [f"Op{i}" for i in range(count)] if count > 1 or self.random.random() < 0.3 else [None]
        )
        operations = [self.operation(self.pick(kinds), name) for name in names]
        document = "\n".join(operations)
        if self.random.random() < 0.15:
            document += " fragment F on Customer { name }"  # unused: a validation error
        body: dict[str, Any] = {"query": document, "variables": self.variables}
        if count > 1 and self.random.random() < 0.7:
            body["operationName"] = self.pick([*names, "Missing"])
        elif self.random.random() < 0.1:
            body["operationName"] = "Op0"
        return body, self.pick(CALLERS)


def requests(count: int) -> Iterator[tuple[dict[str, Any], str]]:
    generator = Generator(SEED)
    for _ in range(count):
        yield generator.request()


TIME = re.compile(rb'"\d{4}-\d\d-\d\dT[\d:.]+(\+00:00|Z)"')
"""Instants read from the clock (an answer's ``asOf``, ``createdAt``) differ by nature."""


async def answer(service: Service, body: dict[str, Any], caller: str, number: int) -> Any:
    headers = {"X-Request-Id": f"diff-{number}"}
    if caller == "bad":
        headers["Authorization"] = "Bearer clk_1_1_not-a-secret"
    elif caller != "none":
        headers["Authorization"] = f"Bearer {service.tokens[caller]}"
    response = await service.client.post("/graphql", content=orjson.dumps(body), headers={
        **headers, "Content-Type": "application/json"})  # fmt: skip
    return (
        response.status_code,
        response.headers.get("content-type"),
        TIME.sub(b'"<t>"', response.content),
    )


def breaks_the_specification(body: dict[str, Any]) -> bool:
    """Several operations and no ``operationName``: stock Strawberry runs the first."""
    if body.get("operationName") is not None:
        return False
    try:
        document = parse(body["query"])
    except GraphQLError:
        return False
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the requests a query plan answered (the engine's fast path)."""
    answered: list[int] = []
    run = QueryPlan.run

    async def counted(plan: QueryPlan, *args: Any) -> Any:
        data = await run(plan, *args)
        if data is not None:
            answered.append(1)
        return data

    monkeypatch.setattr(QueryPlan, "run", counted)
    return answered


async def test_every_request_is_answered_as_stock_strawberry_answers_it(
    fast: Service, stock: Service, planned: list[int]
) -> None:
    compared = spec_errors = 0
    for number, (body, caller) in enumerate(requests(DOCUMENTS)):
        for send in range(SENDS):
            request_id = number * SENDS + send
            ours = await answer(fast, body, caller, request_id)
            if breaks_the_specification(body):
                # Not sent to stock Strawberry: it would run the first operation (a
                # mutation, perhaps), and its database would no longer match ours.
                status, _, content = ours
                errors = orjson.loads(content).get("errors") or [{}]
                assert status == 200, body
                if errors[0].get("message") == MULTIPLE_OPERATIONS:
                    spec_errors += 1
                else:  # a document that is not valid fails validation first
                    assert "locations" in errors[0], (body, errors)
                continue
            compared += 1
            assert ours == await answer(stock, body, caller, request_id), (body, caller, send)
    assert compared > DOCUMENTS * SENDS // 2
    assert len(planned) > DOCUMENTS // 10, "plans answered a fair share of the sends"
    assert spec_errors > 0, "the generator makes documents that stock Strawberry gets wrong"
