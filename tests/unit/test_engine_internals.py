"""The names the engine takes from inside Strawberry and graphql-core still have the
shape it relies on (``app.graphql.engine.internals``): an upgrade that changes one
fails here, not in a request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema
from graphql import GraphQLSchema, parse
from strawberry.extensions import SchemaExtension

from app.graphql.engine import internals


def test_resolve_info_is_built_from_these_fields_in_this_order() -> None:
    assert internals.ResolveInfo._fields == (
        "field_name", "field_nodes", "return_type", "parent_type", "path", "schema",
        "fragments", "root_value", "operation", "variable_values", "context",
        "is_awaitable", "abort_signal", "async_helpers", "operation_extensions",
    )  # fmt: skip


def test_field_collection_takes_these_arguments() -> None:
    def leading(function: Any, count: int) -> list[str]:
        return list(inspect.signature(function).parameters)[:count]

    assert leading(internals.collect_fields, 5) == [
        "schema", "fragments", "variable_values", "runtime_type", "operation",
    ]  # fmt: skip
    assert leading(internals.collect_subfields, 6) == [
        "schema", "fragments", "variable_values", "operation", "return_type",
        "field_details_list",
    ]  # fmt: skip
    assert leading(internals.FragmentDetails, 1) == ["definition"]
    assert {"node", "fragment_variable_values"} <= set(
        inspect.signature(internals.FieldDetails).parameters
    )


@strawberry.type
class Query:
    one: int = 1


def test_the_graphql_core_schema_is_found() -> None:
    assert isinstance(internals.graphql_schema(strawberry.Schema(query=Query)), GraphQLSchema)


async def test_the_operation_name_the_request_gave_is_found() -> None:
    seen: list[str | None] = []

    class Record(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            seen.append(internals.provided_operation_name(self.execution_context))
            yield

    schema = strawberry.Schema(query=Query, extensions=[Record])
    await schema.execute("query A { one } query B { one }", operation_name="B")
    await schema.execute("query A { one }")
    assert seen == ["B", None]


async def test_graphql_cores_resolve_info_is_behind_strawberrys() -> None:
    seen: list[Any] = []

    @strawberry.type
    class Looking:
        @strawberry.field
        def one(self, info: strawberry.Info) -> int:
            raw = internals.graphql_info(info)
            seen.append((raw.field_nodes[0].name.value, sorted(raw.fragments)))
            return 1

    schema = strawberry.Schema(query=Looking)
    result = await schema.execute("{ ...F } fragment F on Looking { one }")
    assert result.errors is None
    assert seen == [("one", ["F"])]


async def test_a_strawberry_info_is_built_from_graphql_cores_and_the_field() -> None:
    built: list[Any] = []

    @strawberry.type
    class Building:
        @strawberry.field
        def one(self, info: strawberry.Info) -> int:
            raw = internals.graphql_info(info)
            built.append(internals.strawberry_info_of(type(info), raw, info._field))
            return 1

    result = await strawberry.Schema(query=Building).execute("{ one }")
    assert result.errors is None
    (info,) = built
    assert (info.field_name, info.python_name) == ("one", "one")


def test_strawberrys_validation_adds_exactly_these_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """``app.graphql.validation`` validates as Strawberry does, with these rules added."""
    given: list[tuple[Any, ...]] = []

    def recording(_schema: Any, _document: Any, rules: Any) -> list[Any]:
        given.append(tuple(rules))
        return []

    monkeypatch.setattr(strawberry_schema, "validate", recording)
    schema = strawberry.Schema(query=Query)
    strawberry_schema.validate_document(internals.graphql_schema(schema), parse("{ one }"), ())
    assert given == [internals.STRAWBERRY_VALIDATION_RULES]
