"""Plans answer exactly as graphql-core does, or leave the operation to it; a
mutation's resolvers run once either way."""

from __future__ import annotations

import asyncio
import enum
import inspect
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import strawberry
from graphql import execute, parse, validate
from strawberry.dataloader import DataLoader
from strawberry.execution import optimized_is_awaitable

from app.graphql.engine import plans as compiled
from app.graphql.engine.internals import graphql_schema
from app.graphql.engine.plans import MutationPlan, QueryPlan, Resolved, compile_operation
from app.graphql.schema import schema as service_schema
from bench.workloads import WORKLOADS
from tests.unit import plan_cases as shortcut_cases


@strawberry.enum
class Genre(enum.Enum):
    NOVEL = "novel"
    POETRY = "poetry"


@strawberry.type
class Author:
    name: str
    born: datetime | None


async def _lengths(keys: list[str]) -> list[int]:
    _lengths.batches.append(list(keys))  # type: ignore[attr-defined]
    return [len(key) for key in keys]


_lengths.batches = []  # type: ignore[attr-defined]


@strawberry.type
class Book:
    title: str
    pages: int
    rating: float | None
    genre: Genre
    tags: list[str]
    code: strawberry.ID
    authors: list[Author]
    pair: tuple[Author, ...] | None = None
    missing: str | None = None

    @strawberry.field
    def shout(self, marks: int = 1) -> str:
        return self.title.upper() + "!" * marks

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return ".".join(str(key) for key in info.path.as_list())

    @strawberry.field
    def described(self, info: strawberry.Info, n: int = 0) -> str:
        """What a resolver can read from its info, as it reads it."""
        raw = info._raw_info
        return repr((
            raw.field_name, [node.name.value for node in raw.field_nodes], str(raw.return_type),
            raw.parent_type.name, raw.path.as_list(), sorted(raw.fragments),
            type(raw.root_value).__name__, raw.operation.name, raw.variable_values,
            sorted(raw.context), raw.schema is graphql_schema(LIBRARY), info.python_name,
            info.selected_fields, n,
        ))  # fmt: skip

    @strawberry.field
    def title_length(self, info: strawberry.Info) -> int:
        """A dataloader future, as ``Customer.overdue`` returns for an ``asOf``."""
        return info.context["lengths"].load(self.title)  # type: ignore[no-any-return]

    @strawberry.field
    async def later(self) -> Author:
        await asyncio.sleep(0)
        return self.authors[0]

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError(f"{self.title} fails")


def _books() -> list[Book]:
    ada = Author(name="Ada", born=datetime(1815, 12, 10, tzinfo=UTC))
    return [
        Book(
            title="one", pages=10, rating=4.5, genre=Genre.NOVEL, tags=["a", "b"], code="b1",
            authors=[ada, Author(name="Bo", born=None)], pair=(ada, ada),
        ),
        Book(title="two", pages=20, rating=None, genre=Genre.POETRY, tags=[], code="b2",
             authors=[Author(name="Cy", born=None)]),
    ]  # fmt: skip


class NamedError(Exception):
    """An error shaped like an Author: graphql-core reports it, never reads it."""

    name = "not an author"
    born = None


@strawberry.type
class Query:
    count: int = 2

    @strawberry.field
    def odd_author(self) -> Author | None:
        return NamedError("returned, not raised")  # type: ignore[return-value]

    @strawberry.field
    async def books(self, first: int = 10) -> list[Book]:
        await asyncio.sleep(0)
        return _books()[:first]

    @strawberry.field
    def book(self, title: str) -> Book | None:
        return next((b for b in _books() if b.title == title), None)

    @strawberry.field
    def strict_book(self, title: str) -> Book:
        return next((b for b in _books() if b.title == title), None)  # type: ignore[return-value]


@strawberry.type
class Poem:
    verse: str

    @strawberry.field
    async def echo(self, info: strawberry.Info) -> str:
        """Completing a result records itself too, so the order shows in the log."""
        info.context["log"].append(f"complete {self.verse}")
        return self.verse


@strawberry.type
class Refused:
    reason: str


CALLS: list[str] = []
"""Every mutation resolver call, in order (cleared by the tests that read it)."""


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> int:
        CALLS.append("touch")
        return 1

    @strawberry.mutation
    async def write(self, info: strawberry.Info, verse: str) -> Poem | Refused:
        """A result union, as the service's mutations answer."""
        CALLS.append(f"write {verse}")
        info.context["log"].append(f"write {verse}")
        await asyncio.sleep(0)
        if verse == "no":
            return Refused(reason="refused")
        return Poem(verse=verse)

    @strawberry.mutation
    def fail(self) -> Poem | Refused:
        CALLS.append("fail")
        raise ValueError("fails")

    @strawberry.mutation
    def odd(self) -> Poem | Refused:
        """A value of neither type: graphql-core reports it."""
        CALLS.append("odd")
        return Author(name="neither", born=None)  # type: ignore[return-value]

    @strawberry.mutation
    def strict(self) -> Poem:
        CALLS.append("strict")
        return Poem(verse=None)  # type: ignore[arg-type]


@strawberry.type
class UnionQuery:
    @strawberry.field
    def item(self) -> Book | Poem:
        return Poem(verse="v")

    @strawberry.field
    def items(self) -> list[Book | Poem]:
        return [Poem(verse="v")]


LIBRARY = strawberry.Schema(query=Query, mutation=Mutation)


def _context() -> dict[str, Any]:
    return {"lengths": DataLoader(load_fn=_lengths), "log": []}


def _plan(schema: strawberry.Schema, query: str) -> QueryPlan | MutationPlan | None:
    document = parse(query)
    assert not validate(graphql_schema(schema), document)
    return compile_operation(graphql_schema(schema), document, None)


async def _planned(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, Any]:
    """What the plan answers (``None``: it left the operation to graphql-core), and
    graphql-core's own answer."""
    plan = _plan(schema, query)
    assert isinstance(plan, QueryPlan), "the document is compiled"
    data = await plan.run(Query(), _context(), variables)
    expected = await schema.execute(
        query, variable_values=variables, context_value=_context(), root_value=Query()
    )
    return data, expected


ANSWERED = [
    "{ books { title pages rating genre tags code authors { name born } } count }",
    "{ b: books(first: 1) { t: title title authors { name } authors { n: name born } }"
    " books { pages } }",
    "{ books { ...B ... on Book { tags } ... { code } } } fragment B on Book { title genre }",
    'query Q { ...Root } fragment Root on Query { __typename count book(title: "two") { title } }',
    "query($n: Int = 1, $m: Int!) { books(first: $n) { shout(marks: $m) plain: shout } }",
    '{ books { where authors { name } pair { name } } a: book(title: "one") { where } }',
    '{ books { title } other: books(first: 1) { title } nothing: book(title: "none") { title } }',
    "{ books { __typename missing authors { __typename } } }",
    '{ books { later { name } titleLength } x: book(title: "one") { titleLength } }',
    "query Named($m: Int!) { books { d: described(n: $m) ...F } } fragment F on Book { described }",
]


@pytest.mark.parametrize("query", ANSWERED)
async def test_a_plan_answers_as_graphql_core_does(query: str) -> None:
    data, expected = await _planned(LIBRARY, query, {"m": 2})
    assert expected.errors is None
    assert data is not None, "the plan answered by itself"
    # Byte for byte, so the order of the keys is the same too.
    assert orjson.dumps(data) == orjson.dumps(expected.data)


async def test_a_plan_awaits_a_pass_of_loader_futures_together() -> None:
    _lengths.batches.clear()  # type: ignore[attr-defined]
    data, _ = await _planned(LIBRARY, "{ books { titleLength } b: books { t: titleLength } }")
    assert data == {"books": [{"titleLength": 3}] * 2, "b": [{"t": 3}] * 2}
    # The plan's run and graphql-core's each loaded every title in one batch.
    assert _lengths.batches == [["one", "two"], ["one", "two"]]  # type: ignore[attr-defined]


FALLING_BACK = [
    "{ books { title fails } }",  # a resolver raises
    '{ strictBook(title: "none") { title } }',  # null for a non-null field
    "{ oddAuthor { name } }",  # an exception as a value
]


@pytest.mark.parametrize("query", FALLING_BACK)
async def test_a_plan_leaves_errors_to_graphql_core(query: str) -> None:
    data, expected = await _planned(LIBRARY, query)
    assert expected.errors, "the case does produce an error"
    assert data is None


async def test_wrong_variables_are_left_to_graphql_core() -> None:
    query = ANSWERED[4]
    plan = _plan(LIBRARY, query)
    assert isinstance(plan, QueryPlan)
    assert await plan.run(Query(), _context(), {"m": "two"}) is None
    assert await plan.run(Query(), _context(), {}) is None
    assert (plan.runs, plan.fallbacks) == (2, 2)


@pytest.mark.parametrize(
    ("schema", "queries"),
    [
        pytest.param(shortcut_cases._schema(), shortcut_cases.QUERIES, id="leaves"),
        pytest.param(shortcut_cases._box_schema(), shortcut_cases.BOX_QUERIES, id="objects"),
        pytest.param(shortcut_cases._shelf_schema(), shortcut_cases.SHELF_QUERIES, id="lists"),
    ],
)
async def test_the_shortcut_error_cases_fall_back_or_answer_the_same(
    schema: strawberry.Schema, queries: list[str]
) -> None:
    """Nulls, refused scalars, raising attributes, generators: never a different answer."""
    fell_back = 0
    for query in queries:
        data, expected = await _planned(schema, query, shortcut_cases.SHELF_VARIABLES)
        if expected.errors:
            assert data is None, query
            fell_back += 1
        else:
            assert orjson.dumps(data) == orjson.dumps(expected.data), query
    assert fell_back, "the cases include errors"


@pytest.mark.parametrize(
    ("schema", "query"),
    [
        pytest.param(LIBRARY, "{ books @skip(if: false) { title } }", id="a directive"),
        pytest.param(LIBRARY, "{ books { ... @include(if: true) { title } } }", id="inline"),
        pytest.param(LIBRARY, "{ __schema { queryType { name } } }", id="introspection"),
        pytest.param(LIBRARY, '{ __type(name: "Book") { name } }', id="__type"),
        pytest.param(
            strawberry.Schema(query=UnionQuery),
            "{ items { ... on Poem { verse } } }",
            id="a list of a union",
        ),
    ],
)
def test_what_a_plan_does_not_handle_is_not_compiled(schema: strawberry.Schema, query: str) -> None:
    assert _plan(schema, query) is None


async def test_a_plan_that_keeps_falling_back_retires(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "MAX_FALLBACKS", 3)
    plan = _plan(LIBRARY, FALLING_BACK[0])
    assert isinstance(plan, QueryPlan)
    for _ in range(3):
        assert await plan.run(Query(), _context(), None) is None
    assert (plan.runs, plan.fallbacks, plan.retired) == (3, 3, True)


@pytest.mark.parametrize("workload", [w for w in WORKLOADS if w.operation[0] == "query"])
def test_the_bench_queries_compile_against_the_service_schema(workload: Any) -> None:
    assert _plan(service_schema, workload.query) is not None


async def test_a_union_is_completed_as_graphql_core_completes_it() -> None:
    query = "{ item { __typename ... on Poem { verse echo } ... on Book { title } } }"
    data, expected = await _planned(strawberry.Schema(query=UnionQuery), query)
    assert expected.errors is None
    assert data == {"item": {"__typename": "Poem", "verse": "v", "echo": "v"}}
    assert orjson.dumps(data) == orjson.dumps(expected.data)


async def _graphql_core(query: str, context: Any, middleware: list[Any] | None = None) -> Any:
    """graphql-core's execution, called as ``Schema.execute`` calls it."""
    result = execute(
        graphql_schema(LIBRARY), parse(query), context_value=context, middleware=middleware,
        is_awaitable=optimized_is_awaitable, executor_class=LIBRARY.execution_context_class,
    )  # fmt: skip
    return await result if inspect.isawaitable(result) else result


async def _mutated(query: str) -> tuple[Any, Any]:
    """The plan's answer (data, or the result of graphql-core's execution with the
    plan's middleware) and graphql-core's own result, once checked that both ran the
    same resolvers in the same order, each once, and completed each root field
    before the next one's resolver ran."""
    plan = _plan(LIBRARY, query)
    assert isinstance(plan, MutationPlan), "the document is compiled"
    CALLS.clear()
    context = _context()
    outcome = await plan.run(None, context, None)
    if isinstance(outcome, Resolved):
        outcome = await _graphql_core(query, context, [outcome])
    planned_calls = list(CALLS)
    expected_context = _context()
    expected = await _graphql_core(query, expected_context)
    assert context["log"] == expected_context["log"]
    assert planned_calls * 2 == CALLS
    return outcome, expected


MUTATIONS_ANSWERED = [
    'mutation { a: write(verse: "a") { __typename ... on Poem { verse echo } }'
    ' t: touch b: write(verse: "no") { ... on Refused { reason } ... on Poem { verse } }'
    " __typename }",
    'mutation M { write(verse: "x") { ...P } } fragment P on Poem { echo }',
]


@pytest.mark.parametrize("query", MUTATIONS_ANSWERED)
async def test_a_mutation_plan_answers_as_graphql_core_does_one_field_after_the_other(
    query: str,
) -> None:
    data, expected = await _mutated(query)
    assert expected.errors is None
    assert type(data) is dict, "the plan answered by itself"
    assert orjson.dumps(data) == orjson.dumps(expected.data)


MUTATIONS_FALLING_BACK = [
    'mutation { a: write(verse: "a") { ... on Poem { verse } } fail { __typename } t: touch }',
    'mutation { t: touch odd { __typename } b: write(verse: "b") { ... on Poem { echo } } }',
    "mutation { t: touch strict { verse } again: touch }",
]


@pytest.mark.parametrize("query", MUTATIONS_FALLING_BACK)
async def test_a_mutation_plan_leaves_errors_to_graphql_core_without_running_a_resolver_twice(
    query: str,
) -> None:
    """Those before the failure ran in the plan, the rest in graphql-core's execution
    with the plan's results (``_mutated`` checks each ran once)."""
    result, expected = await _mutated(query)
    assert expected.errors, "the case does produce an error"
    assert result.data == expected.data
    assert [error.formatted for error in result.errors] == [
        error.formatted for error in expected.errors
    ]


async def test_a_mutation_with_wrong_variables_runs_no_resolver() -> None:
    plan = _plan(LIBRARY, "mutation($v: String!) { write(verse: $v) { __typename } }")
    assert isinstance(plan, MutationPlan)
    CALLS.clear()
    assert await plan.run(None, _context(), {"v": 1}) is None
    assert CALLS == []
    assert (plan.runs, plan.fallbacks) == (1, 1)


@pytest.mark.parametrize("workload", [w for w in WORKLOADS if w.operation[0] == "mutation"])
def test_the_bench_mutations_compile_against_the_service_schema(workload: Any) -> None:
    assert isinstance(_plan(service_schema, workload.query), MutationPlan)
