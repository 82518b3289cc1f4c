"""The page's look-ahead: does any node ask for its overdue status now?"""

from __future__ import annotations

from typing import Any

import pytest
import strawberry

from app.graphql.lookahead import asks_for_now


@strawberry.type
class Status:
    late: bool = False


@strawberry.type
class Node:
    @strawberry.field
    def status(self, as_of: str | None = None) -> Status:
        return Status()


@strawberry.type
class Edge:
    node: Node


@strawberry.type
class PageQuery:
    @strawberry.field
    def page(self, info: strawberry.Info) -> Page:
        info.context["asks"] = asks_for_now(info, "edge", "node", "status")
        return Page(edge=Edge(node=Node()))


@strawberry.type
class Page:
    edge: Edge


SCHEMA = strawberry.Schema(query=PageQuery)


@pytest.mark.parametrize(
    ("query", "variables", "asks"),
    [
        ("{ page { edge { node { status { late } } } } }", {}, True),
        ("{ page { edge { node { status(asOf: null) { late } } } } }", {}, True),
        ('{ page { edge { node { status(asOf: "2030-01-01") { late } } } } }', {}, False),
        (
            '{ page { edge { node { a: status(asOf: "x") { late } b: status { late } } } } }',
            {},
            True,
        ),
        ("query($t: String) { page { edge { node { status(asOf: $t) { late } } } } }", {}, True),
        (
            "query($t: String) { page { edge { node { status(asOf: $t) { late } } } } }",
            {"t": None},
            True,
        ),
        (
            "query($t: String) { page { edge { node { status(asOf: $t) { late } } } } }",
            {"t": "2030-01-01"},
            False,
        ),
        (
            'query($t: String = "2030") { page { edge { node { status(asOf: $t) { late } } } } }',
            {},
            False,
        ),
        (
            "{ page { ...P } }"
            " fragment P on Page { edge { ... on Edge { node { status { late } } } } }",
            {},
            True,
        ),
        ("{ page { edge { node { __typename } } } }", {}, False),
        ("{ page { __typename } }", {}, False),
    ],
)
async def test_it_sees_what_the_nodes_ask_for(
    query: str, variables: dict[str, Any], asks: bool
) -> None:
    context: dict[str, Any] = {}
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    assert result.errors is None
    assert context["asks"] is asks
