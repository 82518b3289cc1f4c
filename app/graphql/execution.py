"""graphql-core's execution with shortcuts for plain fields and plain resolvers.

A page of 50 customers resolves about 550 fields, and most of them are plain
attributes: a scalar (``id``, ``name``, ``balance``, ``cursor``, ``isOverdue``...)
or an object (an edge's ``node``).  For each, graphql-core builds a path, a
resolve-info object, calls Strawberry's wrapper around ``getattr``, then walks
``complete_value``; graphql-core's execution was most of the CPU of such a page.
Prepared queries and mutations now run as plans (``app.graphql.compiled``); these
shortcuts serve the rest: a text's first request, documents plans do not handle,
and the operations a plan leaves to graphql-core.

``ShortcutExecutionContext.execute_fields`` takes a field that Strawberry itself
treats as basic (no resolver, no permission or field extension:
``StrawberryField.is_basic_field``) and has no arguments by a shortcut:

- a scalar or enum is read and serialized directly;
- an object (of an object type without ``is_type_of``) is read, then its
  subfields collected and executed, with errors handled as ``execute_field``
  handles them: a non-null field passes the error up, a nullable one records
  it and answers null;
- a list of such objects (a connection's ``edges``) is read, its items'
  subfields collected once and executed for each item, each item's error
  handled against the item type and passed on to the list field as
  ``complete_list_value`` does; the list must be a list or tuple of ordinary
  items and the field carry no directive (``@stream``), else graphql-core
  completes it.

Whenever the attribute is not an ordinary value (reading it raises; it is null,
an exception or awaitable; a leaf is null where the type is non-null or does not
serialize) the field goes to graphql-core's own ``execute_field``, which reads
the attribute again (a side effect free ``getattr``) and produces exactly the
error and null propagation it always does.

A field with a resolver whose type is such an object (``Customer.overdue``, 50
times a page) is executed as ``execute_field`` executes it, with two steps
done once instead of per object: its argument values per field node (variables
are fixed for the request), and completing an ordinary result, which is
executing its subfields.  Everything else about it (resolve info, awaitable
results, nulls, errors) is graphql-core's.  ``app.graphql.plain_resolvers``
makes the resolver call itself cheaper.

So answers, errors included, are the same with or without the shortcuts
(``tests/unit/test_execution_shortcut.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_SLOW = object()
"""Returned by a shortcut when graphql-core should execute the field itself."""

_LEAF = 1
_OBJECT = 2
_LIST = 3
_RESOLVED = 4


@dataclass(frozen=True, slots=True)
class Shortcut:
    kind: int
    field: GraphQLField
    read: Callable[[Any], Any] | None
    """Reads a plain attribute (leaf: read and serialized); ``None`` for resolved fields."""
    object_type: GraphQLObjectType | None
    """The object type whose subfields are executed (of the field, or of a list's items)."""
    item_type: GraphQLOutputType | None = None
    """A list's item type, as declared (non-null or not)."""


_shortcuts: dict[GraphQLObjectType, dict[str, Shortcut]] = {}
"""Per object type of the schema, its fields that take a shortcut; built on first use."""


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


def _plain_object(type_: GraphQLOutputType) -> GraphQLObjectType | None:
    """The object type behind ``type_`` (non-null or not) if completing it is only its subfields."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return inner
    return None


def _shortcut(field: GraphQLField) -> Shortcut | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    if field.resolve is None:
        return None
    if not definition.is_basic_field or not getattr(field.resolve, "_is_default", False):
        # A resolver: called as graphql-core calls it; an object it returns is completed
        # by executing its subfields directly.
        object_type = _plain_object(field.type)
        return None if object_type is None else Shortcut(_RESOLVED, field, None, object_type)
    return None if field.args else _attribute_shortcut(field, definition)


def _attribute_shortcut(field: GraphQLField, definition: StrawberryField) -> Shortcut | None:
    non_null = isinstance(field.type, GraphQLNonNull)
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    attribute = definition.python_name
    default_resolver = definition.default_resolver

    def read(source: Any) -> Any:
        return default_resolver(source, attribute)

    shortcut = None
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        leaf = _leaf_reader(default_resolver, attribute, inner, non_null)
        shortcut = Shortcut(_LEAF, field, leaf, None)
    elif (object_type := _plain_object(inner)) is not None:
        shortcut = Shortcut(_OBJECT, field, read, object_type)
    elif isinstance(inner, GraphQLList) and (object_type := _plain_object(inner.of_type)):
        shortcut = Shortcut(_LIST, field, read, object_type, inner.of_type)
    return shortcut


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


def _ordinary(value: Any, is_awaitable: Callable[[Any], bool]) -> bool:
    """A value whose completion holds no surprise: not null, an error or awaitable."""
    return value is not None and not isinstance(value, Exception) and not is_awaitable(value)


async def _await_in_place(values: Any, keys: list[Any]) -> None:
    """Replace the awaitables at ``keys`` of ``values`` (a dict or a list) by their results.

    As graphql-core does: a single one is awaited directly, several together,
    cancelling the rest when one fails.
    """
    if len(keys) == 1:
        values[keys[0]] = await values[keys[0]]
        return
    awaited = await gather_with_cancel(*(values[key] for key in keys))
    for key, value in zip(keys, awaited, strict=True):
        values[key] = value


class ShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arguments: dict[int, dict[str, Any]] = {}
        """Argument values per field node of this request's document (variables fixed)."""
        self._executors: dict[int, Callable[..., Any]] = {
            _OBJECT: self._execute_object_field,
            _LIST: self._execute_list_field,
            _RESOLVED: self._execute_resolved_field,
        }

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields``, with fields taken by their shortcut."""
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
                    kind = shortcut.kind
                    if kind is _LEAF:
                        result = shortcut.read(source_value)  # type: ignore[misc]
                    else:
                        result = self._executors[kind](
                            shortcut, parent_type, source_value, field_details_list,
                            Path(path, response_name, parent_type.name), position_context,
                        )  # fmt: skip
                    if result is not _SLOW:
                        results[response_name] = result
                        if kind is not _LEAF and is_awaitable(result):
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
        await _await_in_place(results, awaitable_fields)
        return results

    def _execute_object_field(  # noqa: PLR0917 - one signature for every shortcut kind
        self,
        shortcut: Shortcut,
        parent_type: GraphQLObjectType,
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
        try:
            value = shortcut.read(source)  # type: ignore[misc]
        except Exception:
            return _SLOW
        if not _ordinary(value, self.is_awaitable):
            return _SLOW
        return self._complete_object(shortcut, value, field_details_list, path, position_context)

    def _complete_object(
        self,
        shortcut: Shortcut,
        value: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """``complete_value`` of an ordinary value of a plain object type, errors included."""
        field_type = shortcut.field.type
        try:
            completed = self.collect_and_execute_subfields(
                shortcut.object_type,  # type: ignore[arg-type]
                field_details_list,
                path,
                value,
                position_context,
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, field_type, field_details_list, path)
        return completed

    async def _await_completed(
        self, completed: Any, field_type: Any, field_details_list: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None

    def _execute_list_field(  # noqa: PLR0917 - one signature for every shortcut kind
        self,
        shortcut: Shortcut,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """``execute_field`` then ``complete_list_value`` for a plain list of plain objects.

        Only for a list (or tuple) whose items are all ordinary values and a field
        without directives (no ``@stream``); each item is completed as
        ``complete_list_item_value`` completes it: its subfields executed, an error
        handled against the item type, a non-null item's error passed on to the
        list field, which handles it as ``execute_field`` does.
        """
        items = self._plain_items(shortcut, source, field_details_list)
        if items is None:
            return _SLOW
        item_object = shortcut.object_type
        grouped_field_set, new_defer_usages, *_ = self.collect_subfields(
            item_object,  # type: ignore[arg-type]
            field_details_list,
        )
        if new_defer_usages:
            return _SLOW
        is_awaitable = self.is_awaitable
        item_type: Any = shortcut.item_type
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = Path(path, index, None)
                try:
                    value = self.execute_fields(
                        item_object,  # type: ignore[arg-type]
                        item,
                        item_path,
                        grouped_field_set,
                        position_context,
                    )
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    value = None
                if is_awaitable(value):
                    value = self._await_completed(value, item_type, field_details_list, item_path)
                    awaitable_indices.append(index)
                completed.append(value)
        except Exception as raw_error:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            self.handle_field_error(raw_error, shortcut.field.type, field_details_list, path)
            return None
        if not awaitable_indices:
            return completed
        return self._gather_list(completed, awaitable_indices, shortcut.field.type,
                                 field_details_list, path)  # fmt: skip

    def _plain_items(
        self, shortcut: Shortcut, source: Any, field_details_list: Any
    ) -> list[Any] | tuple[Any, ...] | None:
        """The list's items if they are all ordinary values, and the field has no directive."""
        try:
            items = shortcut.read(source)  # type: ignore[misc]
        except Exception:
            return None
        if not isinstance(items, list | tuple) or any(
            details.node.directives for details in field_details_list
        ):
            return None
        is_awaitable = self.is_awaitable
        return items if all(_ordinary(item, is_awaitable) for item in items) else None

    async def _gather_list(
        self,
        completed: list[Any],
        awaitable_indices: list[int],
        field_type: GraphQLOutputType,
        field_details_list: Any,
        path: Path,
    ) -> Any:
        try:
            await _await_in_place(completed, awaitable_indices)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None
        return completed

    def _execute_resolved_field(  # noqa: PLR0917 - one signature for every shortcut kind
        self,
        shortcut: Shortcut,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """``execute_field`` for a field with a resolver and a plain object type.

        As graphql-core: resolve info, argument values, the resolver's result
        completed, every error handled against the field type.  Two things are
        done once instead of per object: the argument values of a field node
        (the same for every object of a list, as the variables are fixed), and,
        when the resolver returns an ordinary value, completing it is executing
        its subfields directly.
        """
        first = field_details_list[0]
        field_def = shortcut.field
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
        try:
            if not (field_def.args or first.node.arguments):
                args: dict[str, Any] = {}
            elif first.fragment_variable_values is None:
                args = self._arguments.get(id(first.node))  # type: ignore[assignment]
                if args is None:
                    args = get_argument_values(
                        field_def, first.node, self.variable_values, None, self.hide_suggestions
                    )
                    self._arguments[id(first.node)] = args
            else:
                return _SLOW
            result = field_def.resolve(source, info, **args)  # type: ignore[misc]
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            if _ordinary(result, self.is_awaitable):
                return self._complete_object(
                    shortcut, result, field_details_list, path, position_context
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, return_type, field_details_list, path)
        return completed
