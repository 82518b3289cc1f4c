"""The engine's seam: a plan answers inside Strawberry's pipeline, never instead of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import strawberry
from strawberry.extensions import ParserCache, SchemaExtension

from app.graphql.engine import engine_extensions
from app.graphql.engine.extension import FastExecution, Plans
from app.graphql.spec import MULTIPLE_OPERATIONS, OperationSelection


@strawberry.type
class Item:
    name: str
    size: int


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(name="a", size=1), Item(name="b", size=2)]

    @strawberry.field
    def broken(self) -> int:
        raise ValueError("broken")


CALLS: list[str] = []


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> int:
        CALLS.append("touch")
        return 1

    @strawberry.mutation
    def broken(self) -> Item:
        CALLS.append("broken")
        return Item(name=None, size=1)  # type: ignore[arg-type]  # null for a non-null field


HOOKS: list[str] = []


class Tracing(SchemaExtension):
    """Stands for any extension a user adds: it must see every request."""

    def on_operation(self) -> Iterator[None]:
        HOOKS.append("operation")
        yield

    def on_execute(self) -> Iterator[None]:
        HOOKS.append("execute")
        yield


def schemas(plans: Plans) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same types with the engine and on stock Strawberry."""
    fast = strawberry.Schema(
        query=Query, mutation=Mutation,
        # ParserCache: the same text is the same document, as in the service.
        extensions=[Tracing, OperationSelection, ParserCache, lambda: FastExecution(plans=plans)],
    )  # fmt: skip
    stock = strawberry.Schema(query=Query, mutation=Mutation, extensions=[OperationSelection])
    return fast, stock


async def both(query: str, **kwargs: Any) -> tuple[Any, Any, Plans]:
    plans = Plans()
    fast, stock = schemas(plans)
    answers = [await fast.execute(query, **kwargs) for _ in range(3)]
    expected = await stock.execute(query, **kwargs)
    for answer in answers:
        assert orjson.dumps(answer.data) == orjson.dumps(expected.data)
        assert [e.formatted for e in answer.errors or []] == [
            e.formatted for e in expected.errors or []
        ]
    return answers[0], expected, plans


def the_plan(plans: Plans) -> Any:
    ((_, by_name),) = plans._documents.values()
    (plan,) = by_name.values()
    return plan


async def test_a_plan_answers_within_the_pipeline_every_extension_runs() -> None:
    HOOKS.clear()
    answer, _, plans = await both("{ items { name size } }")
    assert answer.data == {"items": [{"name": "a", "size": 1}, {"name": "b", "size": 2}]}
    plan = the_plan(plans)
    assert (plan.runs, plan.fallbacks) == (3, 0), "the plan answered each time"
    assert HOOKS == ["operation", "execute"] * 3


async def test_an_error_is_answered_by_strawberry_as_on_stock() -> None:
    answer, _, plans = await both("{ items { name } broken }")
    assert answer.errors
    assert answer.errors[0].message == "broken"
    assert the_plan(plans).fallbacks == 3


async def test_several_operations_without_a_name_are_an_error_on_every_send() -> None:
    """Stock Strawberry would run the first operation; the specification says error."""
    answer, _, plans = await both("query A { items { name } } mutation B { touch }")
    assert answer.data is None
    assert [error.message for error in answer.errors] == [MULTIPLE_OPERATIONS]
    assert plans._documents == {} or the_plan(plans) is None


async def test_the_named_operation_runs() -> None:
    document = "query A { items { name } } query B { items { size } }"
    answer, _, plans = await both(document, operation_name="B")
    assert answer.data == {"items": [{"size": 1}, {"size": 2}]}
    assert the_plan(plans).runs == 3


async def test_a_mutation_is_answered_by_its_plan() -> None:
    answer, _, plans = await both("mutation { touch }")
    assert answer.data == {"touch": 1}
    assert (the_plan(plans).runs, the_plan(plans).fallbacks) == (3, 0)


def test_the_switch_leaves_the_engine_out() -> None:
    assert engine_extensions(enabled=False) == []
    (factory,) = engine_extensions(enabled=True)
    assert isinstance(factory(), FastExecution)


async def test_a_mutation_the_plan_cannot_complete_runs_once_and_answers_as_on_stock() -> None:
    CALLS.clear()
    answer, _, plans = await both("mutation { t: touch broken { name } again: touch }")
    assert answer.errors
    assert answer.data is None
    assert the_plan(plans).fallbacks == 3
    # Three sends with the engine and one on stock: each root resolver once per send.
    assert CALLS == ["touch", "broken"] * 4
