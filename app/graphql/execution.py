"""graphql-core's execution with shortcuts for plain leaf fields and plain resolvers.

A page of 50 customers resolves about 550 fields, and most of them are plain
attributes holding a scalar (``id``, ``name``, ``balance``, ``cursor``,
``isOverdue``...).  For each, graphql-core builds a resolve-info object, calls
Strawberry's wrapper around ``getattr``, then walks ``complete_value``; graphql-core's
execution was most of the CPU of such a page.

For a field that Strawberry itself treats as basic (no resolver, no
permission or field extension: ``StrawberryField.is_basic_field``) and whose
type is a scalar or enum, the shortcut reads the attribute and serializes it
directly.  Whenever the result is not an ordinary value (the attribute raises,
is null where the type is non-null, or does not serialize) it hands the field
to graphql-core's own ``execute_field``, which reads the attribute again (a side
effect free ``getattr``) and produces exactly the error and null propagation it
always does.  So answers, errors included, are the same with or without it.

Fields with a resolver, such as ``Customer.overdue(asOf)`` (50 times a page),
paid for Strawberry's generic argument conversion on every call: about 15% of a
page.  Where a field has no permission or field extension and only scalar
arguments, that conversion only renames arguments, so ``install_plain_resolvers``
gives such fields a resolver that renames and calls (``_plain_resolver``).
Root fields all carry permission classes and keep Strawberry's resolver.
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
    GraphQLSchema,
)
from graphql.pyutils import Undefined
from strawberry.relay.types import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryMaybe
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


def _plain_resolver(field: GraphQLField, info_class: type[Any]) -> Callable[..., Any] | None:
    """Strawberry's resolver call without its generic argument conversion, where that is a no-op.

    For a field with a resolver but no permission or field extension, whose
    arguments are all scalars, Strawberry's per-call work (converting each
    argument by its type, renaming it, building the extension chain) amounts to
    renaming camelCase arguments to the resolver's parameter names: a scalar is
    passed through as graphql-core coerced it.  This does just that.  (It assumes
    no Strawberry exception handlers, which this schema does not use.)
    """
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None or not callable(resolver.wrapped_func):
        return None
    python_names: dict[str, str] = {}
    for name, argument in field.args.items():
        argument_type = argument.type
        if isinstance(argument_type, GraphQLNonNull):
            argument_type = argument_type.of_type
        strawberry_argument = (argument.extensions or {}).get(
            GraphQLCoreConverter.DEFINITION_BACKREF
        )
        if not isinstance(argument_type, GraphQLScalarType) or strawberry_argument is None:
            return None
        if isinstance(strawberry_argument.type, StrawberryMaybe) or strawberry_argument.type in (
            GlobalID,
            GlobalID | None,
        ):
            return None  # Strawberry wraps or decodes these: not a pass-through
        python_names[name] = strawberry_argument.python_name
    function = resolver.wrapped_func
    passes_self = resolver.self_parameter is not None
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    source_names = [
        parameter.name
        for parameter in (resolver.root_parameter, resolver.parent_parameter)
        if parameter is not None
    ]

    def resolve(source: Any, info: Any, **arguments: Any) -> Any:
        kwargs = {python_names[name]: value for name, value in arguments.items()}
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=definition)
        for name in source_names:
            kwargs[name] = source
        return function(source, **kwargs) if passes_self else function(**kwargs)

    return resolve


def install_plain_resolvers(graphql_schema: GraphQLSchema, info_class: type[Any]) -> list[str]:
    """Give qualifying fields the plain resolver; the ``Type.field`` names changed."""
    changed = []
    for type_ in graphql_schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            plain = _plain_resolver(field, info_class)
            if plain is not None:
                field.resolve = plain
                changed.append(f"{type_.name}.{name}")
    return changed
