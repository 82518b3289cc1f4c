"""The resolver calls of plans: Strawberry's, with its per-call generic work done once.

For every field with a resolver, Strawberry converts each argument on every
call by walking its type (``convert_argument``: type resolution, generics
checks, name conversion per input field), then builds the chain of field
extensions around the resolver.  For a purchase that was about a fifth of the
request's CPU (``PurchaseInput`` with its list of items), and for
``Customer.overdue(asOf)``, called 50 times per page, about 15% of a page.

A plan (``app.graphql.engine.plans``) calls, for each field it resolves, the
resolver ``PlainResolvers`` gives it: one that does the same work as Strawberry's
with what can be decided once already decided (else Strawberry's own):

- arguments are converted by a converter built once from the argument's
  Strawberry type (``_converter``): scalars and enums pass through as
  graphql-core coerced them, lists are copied, input types are built from
  their fields, and ``None``/``UNSET`` stay as they are, exactly as
  ``convert_argument`` does.  Types Strawberry converts specially (``Maybe``,
  ``GlobalID``, inputs with ``from_input``) make the field keep Strawberry's
  resolver;
- the only field extension allowed is Strawberry's ``PermissionExtension``
  (``permission_classes``) with synchronous permissions and without
  ``fail_silently``: each permission is asked in order, with the converted
  arguments, and the first refusal answers ``on_unauthorized()``, as
  ``PermissionExtension`` does;
- the resolver then gets its arguments by their Python names, and ``self``,
  ``root``/``parent`` and ``info`` as it asks for them.

Only plans call them: whenever Strawberry executes an operation, its fields run
Strawberry's own resolvers.  The schema uses no Strawberry exception handlers,
which this assumes.  ``tests/unit/test_plain_resolvers.py`` compares answers and
errors with Strawberry's own resolvers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import GraphQLField
from strawberry.exceptions import (
    PermissionReturnedAwaitableInSyncContextError,
    PermissionReturnedNonBooleanError,
)
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

from app.graphql.engine.internals import strawberry_info_of

Converter = Callable[[Any], Any]


class _Unsupported(Exception):  # noqa: N818  (internal signal, never raised to callers)
    """A type Strawberry converts in a way this module does not reproduce."""


class _Converters:
    """Converters per Strawberry type, for one schema (its scalars and names)."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self._scalars = schema.schema_converter.scalar_registry
        self._names = schema.config.name_converter
        self._inputs: dict[type, Converter] = {}

    def of(self, type_: Any) -> Converter:
        """The converter of ``type_``; ``_Unsupported`` if Strawberry must convert it."""
        if isinstance(type_, StrawberryMaybe) or type_ is GlobalID:
            raise _Unsupported(type_)
        if isinstance(type_, StrawberryOptional):
            return self.of(type_.of_type)  # None and UNSET pass through every converter
        if isinstance(type_, LazyType):
            return self.of(type_.resolve_type())
        if isinstance(type_, StrawberryList):
            item = self.of(type_.of_type)
            if item is _passes_through:
                return _copied_list
            return _list_of(item)
        if (
            is_scalar(type_, self._scalars)
            or isinstance(type_, StrawberryEnumDefinition)
            or has_enum_definition(type_)
        ):
            return _passes_through
        if has_object_definition(type_):
            return self._input(type_)
        raise _Unsupported(type_)

    def _input(self, type_: type) -> Converter:
        """Built once per input class; a recursive one refers to itself while being built."""
        built: Converter | None = self._inputs.get(type_)
        if built is None:
            self._inputs[type_] = lambda value: self._inputs[type_](value)  # noqa: PLW0108 - late lookup
            try:
                built = self._build_input(type_)
            except BaseException:
                del self._inputs[type_]
                raise
            self._inputs[type_] = built
        return built

    def _build_input(self, type_: Any) -> Converter:
        definition = type_.__strawberry_definition__
        if definition.from_input is not None or not definition.is_input:
            raise _Unsupported(type_)
        implicit_nones = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
        fields = [
            (
                self._names.from_field(field),
                field.python_name,
                self.of(field.resolve_type(type_definition=definition)),
            )
            for field in definition.fields
        ]

        def build(value: Any) -> Any:
            if value is None or value is UNSET:
                return value
            kwargs = dict(implicit_nones)
            for graphql_name, python_name, convert in fields:
                if graphql_name in value:
                    kwargs[python_name] = convert(value[graphql_name])
            return type_(**kwargs)

        return build


def _passes_through(value: Any) -> Any:
    return value


def _copied_list(value: Any) -> Any:
    # Copied: graphql-core hands every request that omits the value the same default.
    if value is None or value is UNSET:
        return value
    return list(value)


def _list_of(item: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        return [item(element) for element in value]

    return convert


def _permissions(definition: StrawberryField) -> list[BasePermission] | None:
    """The field's permissions, if its extensions are only a plain ``PermissionExtension``."""
    permissions: list[BasePermission] = []
    for extension in definition.extensions:
        if (
            not isinstance(extension, PermissionExtension)
            or extension.fail_silently
            or not extension.supports_sync
        ):
            raise _Unsupported(extension)
        permissions.extend(extension.permissions)
    return permissions or None


_GRANTED = object()


def _check(permissions: list[BasePermission], source: Any, info: Any, kwargs: Any) -> Any:
    """``PermissionExtension``'s checks: ``_GRANTED``, or what the refusing one answers."""
    for permission in permissions:
        allowed = permission.has_permission(source, info, **kwargs)
        if not isinstance(allowed, bool):
            # Permissions here answer synchronously (``supports_sync``); like Strawberry's
            # synchronous check, never trust an awaitable or any other non-boolean.
            if inspect.iscoroutine(allowed):
                allowed.close()
            if inspect.isawaitable(allowed):
                raise PermissionReturnedAwaitableInSyncContextError(permission)
            raise PermissionReturnedNonBooleanError(permission, allowed)
        if not allowed:
            return permission.on_unauthorized()
    return _GRANTED


def _plain_resolver(
    field: GraphQLField, info_class: type[Any], converters: _Converters
) -> Callable[..., Any] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    resolver = definition.base_resolver
    if resolver is None or not callable(resolver.wrapped_func):
        return None
    try:
        permissions = _permissions(definition)
        arguments: dict[str, tuple[str, Converter]] = {}
        for name, argument in field.args.items():
            strawberry_argument = (argument.extensions or {}).get(
                GraphQLCoreConverter.DEFINITION_BACKREF
            )
            if strawberry_argument is None:
                return None
            arguments[name] = (
                strawberry_argument.python_name,
                converters.of(strawberry_argument.type),
            )
    except _Unsupported:
        return None
    function = resolver.wrapped_func
    passes_self = resolver.self_parameter is not None
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    source_names = [
        parameter.name
        for parameter in (resolver.root_parameter, resolver.parent_parameter)
        if parameter is not None
    ]

    def resolve(source: Any, info: Any, **raw: Any) -> Any:
        kwargs = {}
        for name, value in raw.items():
            python_name, convert = arguments[name]
            kwargs[python_name] = convert(value)
        strawberry_info = strawberry_info_of(info_class, info, definition)
        if permissions is not None:
            checked = _check(permissions, source, strawberry_info, kwargs)
            if checked is not _GRANTED:
                return checked
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        for name in source_names:
            kwargs[name] = source
        return function(source, **kwargs) if passes_self else function(**kwargs)

    return resolve


class PlainResolvers:
    """Per Strawberry schema: the resolver a plan calls for a field, built once."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self._converters = _Converters(schema)
        self._info_class = schema.config.info_class
        self._built: dict[int, tuple[GraphQLField, Callable[..., Any] | None]] = {}

    def __call__(self, field: GraphQLField) -> Callable[..., Any] | None:
        built = self._built.get(id(field))
        if built is None or built[0] is not field:
            plain = _plain_resolver(field, self._info_class, self._converters)
            built = self._built[id(field)] = (field, plain or field.resolve)
        return built[1]
