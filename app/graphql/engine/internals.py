"""Every name the service takes from inside Strawberry or graphql-core, in one place.

None of these is part of either library's public API.  Each is used only through
this module, and a test fails when one of them changes shape
(``tests/unit/test_engine_internals.py``; ``execute_with`` through the mutation
fallback of ``tests/unit/test_fast_execution.py``), so an upgrade that breaks the
engine fails a test, not a request.
"""

from __future__ import annotations

from inspect import isawaitable
from typing import Any

from graphql import GraphQLSchema, execute
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import (
    _OperationContextAwareGraphQLResolveInfo as ResolveInfo,  # what resolvers get as info
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

__all__ = [
    "STRAWBERRY_VALIDATION_RULES",
    "FieldDetails",
    "FragmentDetails",
    "ResolveInfo",
    "collect_fields",
    "collect_subfields",
    "execute_with",
    "graphql_info",
    "graphql_schema",
    "provided_operation_name",
    "strawberry_info_of",
]

STRAWBERRY_VALIDATION_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)
"""The rules Strawberry's own validation (``validate_document``) adds to every request's."""


def provided_operation_name(context: ExecutionContext) -> str | None:
    """The ``operationName`` the request gave, ``None`` if it gave none.

    ``context.operation_name`` is not that: without a name it answers the document's
    first operation's name, whatever the number of operations.
    """
    name: Any = context._provided_operation_name
    return name if isinstance(name, str) else None


def graphql_schema(schema: Any) -> GraphQLSchema:
    """graphql-core's schema inside a Strawberry schema."""
    inner: GraphQLSchema = schema._schema
    return inner


def graphql_info(info: Any) -> Any:
    """graphql-core's resolve info behind a Strawberry ``Info``: its ``field_nodes``
    and ``fragments``, which Strawberry's ``Info`` does not expose."""
    return info._raw_info


def strawberry_info_of(info_class: Any, info: Any, field: Any) -> Any:
    """The ``Info`` Strawberry gives a resolver, from graphql-core's ``info`` and the
    Strawberry field (its constructor's arguments are private)."""
    return info_class(_raw_info=info, _field=field)


async def execute_with(context: ExecutionContext, *, middleware: list[Any]) -> Any:
    """graphql-core's execution of the request, with ``middleware``, called as
    Strawberry's own execution calls it (its executor class, its resolve info)."""
    schema: Any = context.schema
    result = execute(
        graphql_schema(schema),
        context.graphql_document,  # type: ignore[arg-type]
        root_value=context.root_value,
        context_value=context.context,
        variable_values=context.variables,
        operation_name=context.operation_name,
        middleware=middleware,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        executor_class=schema.execution_context_class,
        operation_extensions=context.operation_extensions,
    )
    return await result if isawaitable(result) else result
