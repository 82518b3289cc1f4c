"""Every name the service takes from inside Strawberry or graphql-core, in one place.

None of these is part of either library's public API.  Each is used only through
this module, and ``tests/unit/test_engine_internals.py`` fails when one of them
changes shape, so an upgrade that breaks the engine fails a test, not a request.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from strawberry.schema.schema import (
    _OperationContextAwareGraphQLResolveInfo as ResolveInfo,  # what resolvers get as info
)
from strawberry.types import ExecutionContext

__all__ = [
    "FieldDetails",
    "FragmentDetails",
    "ResolveInfo",
    "collect_fields",
    "collect_subfields",
    "graphql_info",
    "graphql_schema",
    "provided_operation_name",
]


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
