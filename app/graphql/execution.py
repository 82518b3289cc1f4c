"""graphql-core's execution with a shortcut for plain leaf fields.

A page of 50 customers resolves about 550 fields, and most of them are plain
attributes holding a scalar (``id``, ``name``, ``balance``, ``cursor``,
``isOverdue``...).  For each, graphql-core builds a resolve-info object, calls
Strawberry's wrapper around ``getattr``, then walks ``complete_value``: about
two thirds of the CPU of such a page.

For a field that Strawberry itself treats as basic (no resolver, no
permission or field extension: ``StrawberryField.is_basic_field``) and whose
type is a scalar or enum, the shortcut reads the attribute and serializes it
directly.  Whenever the result is not an ordinary value (the attribute raises,
is null where the type is non-null, or does not serialize) it hands the field
to graphql-core's own ``execute_field``, which reads the attribute again (a side
effect free ``getattr``) and produces exactly the error and null propagation it
always does.  So answers, errors included, are the same with or without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_SLOW = object()
"""Returned by a leaf reader when graphql-core should execute the field itself."""

LeafReader = Callable[[Any], Any]

_leaf_readers: dict[GraphQLObjectType, dict[str, LeafReader]] = {}
"""Per object type of the schema, its plain leaf fields; built on first use."""


def _leaf_reader(field: GraphQLField) -> LeafReader | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if not getattr(field.resolve, "_is_default", False) or field.args:
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(leaf_type, GraphQLScalarType | GraphQLEnumType):
        return None
    attribute = definition.python_name
    serialize = leaf_type.coerce_output_value
    default_resolver = definition.default_resolver

    def read(source: Any) -> Any:
        try:
            value = default_resolver(source, attribute)
            if value is None:
                return _SLOW if non_null else None
            if isinstance(value, Exception):
                return _SLOW
            serialized = serialize(value)
        except Exception:  # graphql-core reports it, with its path
            return _SLOW
        return _SLOW if serialized is None or serialized is Undefined else serialized

    return read


def _leaf_readers_of(parent_type: GraphQLObjectType) -> dict[str, LeafReader]:
    readers = _leaf_readers.get(parent_type)
    if readers is None:
        readers = {}
        for name, field in parent_type.fields.items():
            reader = _leaf_reader(field)
            if reader is not None:
                readers[name] = reader
        _leaf_readers[parent_type] = readers
    return readers


class LeafShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if self.middleware_manager is None or not self.middleware_manager.middlewares:
            reader = _leaf_readers_of(parent_type).get(field_details_list[0].node.name.value)
            if reader is not None:
                value = reader(source)
                if value is not _SLOW:
                    return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
