"""graphql-core's execution with shortcuts for plain fields and plain resolvers.

A page of 50 customers resolves about 550 fields, and most of them are plain
attributes: a scalar (``id``, ``name``, ``balance``, ``cursor``, ``isOverdue``...)
or an object (an edge's ``node``).  For each, graphql-core builds a path, a
resolve-info object, calls Strawberry's wrapper around ``getattr``, then walks
``complete_value``; graphql-core's execution was most of the CPU of such a page.

``ShortcutExecutionContext.execute_fields`` takes a field that Strawberry itself
treats as basic (no resolver, no permission or field extension:
``StrawberryField.is_basic_field``) and has no arguments by a shortcut:

- a scalar or enum is read and serialized directly;
- an object (of an object type without ``is_type_of``) is read, then its
  subfields collected and executed, with errors handled as ``execute_field``
  handles them: a non-null field passes the error up, a nullable one records
  it and answers null.

Whenever the attribute is not an ordinary value (reading it raises; it is null,
an exception or awaitable; a leaf is null where the type is non-null or does not
serialize) the field goes to graphql-core's own ``execute_field``, which reads
the attribute again (a side effect free ``getattr``) and produces exactly the
error and null propagation it always does.  So answers, errors included, are the
same with or without the shortcuts (``tests/unit/test_execution_shortcut.py``
compares them).

Fields with a resolver keep it; ``app.graphql.plain_resolvers`` makes calling
it cheaper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_SLOW = object()
"""Returned by a shortcut when graphql-core should execute the field itself."""

_LEAF = 1
_OBJECT = 2

Shortcut = tuple[int, Callable[[Any], Any], Any, GraphQLOutputType]
"""(kind, read the source, for an object field its object type (else None), the field type)."""

_shortcuts: dict[GraphQLObjectType, dict[str, Shortcut]] = {}
"""Per object type of the schema, its plain fields; built on first use."""


def _leaf_reader(
    default_resolver: Callable[[Any, str], Any],
    attribute: str,
    leaf_type: GraphQLScalarType | GraphQLEnumType,
    non_null: bool,
) -> Callable[[Any], Any]:
    serialize = leaf_type.coerce_output_value

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


def _shortcut(field: GraphQLField) -> Shortcut | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if not getattr(field.resolve, "_is_default", False) or field.args:
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    attribute = definition.python_name
    default_resolver = definition.default_resolver
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return _LEAF, _leaf_reader(default_resolver, attribute, inner, non_null), None, field.type
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return _OBJECT, lambda source: default_resolver(source, attribute), inner, field.type
    return None


def _shortcuts_of(parent_type: GraphQLObjectType) -> dict[str, Shortcut]:
    shortcuts = _shortcuts.get(parent_type)
    if shortcuts is None:
        shortcuts = {}
        for name, field in parent_type.fields.items():
            shortcut = _shortcut(field)
            if shortcut is not None:
                shortcuts[name] = shortcut
        _shortcuts[parent_type] = shortcuts
    return shortcuts


class ShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields``, with plain fields taken by their shortcut."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        shortcuts = _shortcuts_of(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                shortcut = shortcuts.get(field_details_list[0].node.name.value)
                if shortcut is not None:
                    kind = shortcut[0]
                    if kind is _LEAF:
                        result = shortcut[1](source_value)
                    else:
                        result = self._execute_object_field(
                            shortcut, source_value, field_details_list,
                            Path(path, response_name, parent_type.name), position_context,
                        )  # fmt: skip
                    if result is not _SLOW:
                        results[response_name] = result
                        if kind is _OBJECT and is_awaitable(result):
                            awaitable_fields.append(response_name)
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # As graphql-core: settle what other fields started, they may fail too.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(
        self, results: dict[str, Any], awaitable_fields: list[str]
    ) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
        else:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    def _execute_object_field(
        self,
        shortcut: Shortcut,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """``execute_field`` then ``complete_value`` for a plain field holding an object.

        Only when the attribute holds an ordinary value (it did not raise, is not
        null, an exception or awaitable): then completing it is collecting and
        executing its subfields, with errors handled as ``execute_field`` does.
        """
        _, read, object_type, field_type = shortcut
        try:
            value = read(source)
        except Exception:
            return _SLOW
        if value is None or isinstance(value, Exception) or self.is_awaitable(value):
            return _SLOW
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_object_field(completed, field_type, field_details_list, path)
        return completed

    async def _await_object_field(
        self, completed: Any, field_type: Any, field_details_list: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None
