"""Plans: a document executed without graphql-core's per-field work.

A page of 50 customers is about 550 fields, and graphql-core decides for each
of them again what the document already says: which fields to collect, which
type to complete, whether a path, resolve info or awaitable is involved.  A
document and the schema never change, so ``compile_operation`` decides all of that once and
builds a tree of small functions, one per field of the document, that read,
resolve and serialize exactly as graphql-core would.  ``FastExecution``
(``app.graphql.engine.extension``) runs them.

A plan only ever answers when the whole operation completed without a single
error or surprise.  Anything else raises inside the plan and graphql-core
executes the operation, which then produces its own answer, errors included:

- a resolver raising (a permission refusal, a bad argument), a value that is an
  exception, null where the type is non-null, a leaf that does not serialize;
- a list that is not a ``list`` or ``tuple`` (graphql-core accepts any iterable).

Resolvers may return awaitables (coroutines, dataloader futures).  A plan awaits
all those of one pass over the document together, as graphql-core runs them
concurrently, so a dataloader still gets a whole page's keys in one batch.

A query plan's discarded attempt changes nothing (reads are side-effect free),
so graphql-core simply executes the query again.  A mutation must run exactly
once, so a mutation plan (``MutationPlan``) runs its root fields one after the
other, as graphql-core does, and hands graphql-core what their resolvers
already returned: a root field that raised, or whose answer the plan cannot
complete, stops the plan, and graphql-core executes the operation with the root
fields resolved so far answering with those results (``Resolved``, a
middleware), so no root resolver (the mutation itself) runs twice.  The fields
below a root field are reads, free of side effects, and graphql-core completes
them again from the same results, as it executes a query again.

A field with a resolver is resolved by the resolver ``resolvers`` gives it
(``app.graphql.engine.resolvers``: Strawberry's, with the per-call work done once).

Abstract types are completed as graphql-core
completes them: the type's own ``resolve_type`` names the runtime type, whose
selection is compiled ahead like any object's.  Documents a plan does not handle
are never compiled: any directive (``@skip``, ``@include``, ``@defer``...),
introspection (``__schema``, ``__type``), abstract types without a
``resolve_type`` or inside a list, object types with ``is_type_of``, fragment
variables, subscriptions, very large documents.

A plan that keeps falling back (more than a quarter of its runs, once it has
fallen back ``MAX_FALLBACKS`` times) is retired, so a query that always needs
graphql-core pays for one attempt only until then.

``tests/unit/test_query_plans.py`` compares the answers of both executions.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Node,
    OperationDefinitionNode,
    OperationType,
    get_argument_values,
    get_variable_values,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.utilities import get_operation_ast
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from app.graphql.engine.internals import (
    FieldDetails,
    FragmentDetails,
    ResolveInfo,
    collect_fields,
    collect_subfields,
)

MAX_FIELDS = 2_000
"""Fields of a document (fragments counted where they are spread) a plan may hold."""
MAX_FALLBACKS = 16
MAX_COERCION_ERRORS = 50
"""As graphql-core's ``execute``; the errors themselves come from graphql-core's run."""
NO_VARIABLES: Any = None
"""What field collection reads variables with: nothing, in a document without directives."""

is_awaitable = optimized_is_awaitable


class UnplannableError(Exception):
    """The document uses something a plan does not handle."""


class FallbackError(Exception):
    """This run met something only graphql-core handles; it executes the operation."""


# (value, path of the value or None when nothing below needs it, run) -> answer
Completer = Callable[[Any, Path | None, "Run"], Any]
# (source object, path of the source or None, run) -> the field's answer
FieldFunction = Callable[[Any, Path | None, "Run"], Any]
# (source object, path of the field, run) -> what the field's resolver returned
ResolverCall = Callable[[Any, Path, "Run"], Any]
# The field, its nodes and the type it is a field of: what its resolve info is built from.
FieldOf = tuple[GraphQLField, list[FieldNode], GraphQLObjectType]


class Later:
    """A field whose resolver returned an awaitable: its answer once awaited and completed."""

    __slots__ = ("awaitable", "complete", "path", "value")

    def __init__(self, awaitable: Any, complete: Completer, path: Path) -> None:
        self.awaitable = awaitable
        self.complete = complete
        self.path = path
        self.value: Any = None


class Run:
    """One execution of a plan: what graphql-core's executor would hold for the request."""

    __slots__ = ("arguments", "context", "nested", "pending", "plan", "root_value", "variables")

    def __init__(self, plan: Plan, root_value: Any, context: Any, variables: Any) -> None:
        self.plan = plan
        self.root_value = root_value
        self.context = context
        self.variables = variables
        """graphql-core's ``VariableValues``, coerced for the operation."""
        self.arguments: dict[int, dict[str, Any]] = {}
        """Argument values per field of the plan: variables are fixed for the request."""
        self.pending: list[Later] = []
        """Awaitables returned by resolvers and not awaited yet."""
        self.nested = False
        """Whether an awaitable was returned below the root, so ``Later`` may be anywhere."""

    def resolve_info(
        self,
        field_def: GraphQLField,
        nodes: list[FieldNode],
        parent_type: GraphQLObjectType,
        path: Path,
    ) -> Any:
        """The resolve info Strawberry's execution context builds, field for field."""
        plan = self.plan
        return ResolveInfo(
            nodes[0].name.value, nodes, field_def.type, parent_type, path, plan.schema,
            plan.fragment_definitions, self.root_value, plan.operation, self.variables.coerced,
            self.context, is_awaitable, None, ASYNC_HELPERS,
            None,  # type: ignore[arg-type] # no operation extensions, as Strawberry passes them
        )  # fmt: skip


def _track(values: Any) -> None:
    """Background work a plan does not wait for: graphql-core executes the operation."""
    raise FallbackError


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


ASYNC_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


class Plan:
    """What query and mutation plans share: the document, the counts, retirement."""

    __slots__ = ("fallbacks", "fragment_definitions", "operation", "runs", "schema")

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragment_definitions = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.runs = 0
        self.fallbacks = 0

    @property
    def retired(self) -> bool:
        return self.fallbacks >= MAX_FALLBACKS and self.fallbacks * 4 > self.runs

    def _start(
        self, root_value: Any, context: Any, raw_variables: dict[str, Any] | None
    ) -> Run | None:
        """A run with the operation's coerced variables, or ``None`` if they are wrong
        (graphql-core reports that)."""
        self.runs += 1
        variables = get_variable_values(
            self.schema, self.operation.variable_definitions or (), raw_variables or {},
            max_errors=MAX_COERCION_ERRORS,
        )  # fmt: skip
        if isinstance(variables, list):
            self.fallbacks += 1
            return None
        return Run(self, root_value, context, variables)


class QueryPlan(Plan):
    __slots__ = ("_fields",)

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        fields: list[tuple[str, FieldFunction]],
    ) -> None:
        super().__init__(schema, document, operation)
        self._fields = fields

    async def run(
        self, root_value: Any, context: Any, raw_variables: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The operation's ``data``, or ``None`` when graphql-core has to execute it
        (also when the variables are wrong: graphql-core reports that).

        Every field is answered synchronously, except those whose resolver returned
        an awaitable: all such awaitables of a pass are awaited together, as
        graphql-core would have them run concurrently (so dataloaders batch them),
        then their values completed, which may start the next pass.
        """
        run = self._start(root_value, context, raw_variables)
        if run is None:
            return None
        try:
            data = {key: function(root_value, None, run) for key, function in self._fields}
            if not run.pending:
                return data
            await _settle(run)
            if run.nested:
                return _settled(data)  # type: ignore[no-any-return]
            return {
                key: value.value if type(value) is Later else value for key, value in data.items()
            }
        except Exception:
            _discard(later.awaitable for later in run.pending)
            self.fallbacks += 1
            return None


class Resolved:
    """graphql-core middleware: root fields a mutation plan already resolved answer
    with what their resolver returned (or raise what it raised), without running it
    again; every other field runs as usual."""

    __slots__ = ("results",)

    def __init__(self) -> None:
        self.results: dict[str, tuple[bool, Any]] = {}
        """Per response key: (whether the resolver returned, its value or exception)."""

    def resolve(self, next_: Callable[..., Any], root: Any, info: Any, **args: Any) -> Any:
        path = info.path
        if path.prev is None and (result := self.results.get(path.key)) is not None:
            returned, value = result
            if returned:
                return value
            raise value
        return next_(root, info, **args)


class MutationPlan(Plan):
    __slots__ = ("_roots", "_type_name")

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        roots: list[tuple[str, ResolverCall, Completer]],
        type_name: str,
    ) -> None:
        super().__init__(schema, document, operation)
        self._roots = roots
        self._type_name = type_name

    async def run(
        self, root_value: Any, context: Any, raw_variables: dict[str, Any] | None
    ) -> dict[str, Any] | Resolved | None:
        """The operation's ``data``; else what graphql-core needs to execute it without
        running a resolver twice: ``None`` when no resolver ran (wrong variables), or
        the middleware holding the root fields' results so far.

        Root fields run one after the other, each completed (nested awaitables as
        in a query plan) before the next one's resolver is called, as graphql-core's
        ``execute_fields_serially`` runs them.
        """
        run = self._start(root_value, context, raw_variables)
        if run is None:
            return None
        resolved = Resolved()
        data: dict[str, Any] = {}
        for key, call, complete in self._roots:
            path = Path(None, key, self._type_name)
            try:
                result = call(root_value, path, run)
                if is_awaitable(result):
                    result = await result
            except Exception as error:
                resolved.results[key] = (False, error)
                break
            resolved.results[key] = (True, result)
            try:
                value = complete(result, path, run)
                if run.pending:
                    await _settle(run)
                data[key] = _settled(value) if run.nested else value
            except Exception:
                _discard(later.awaitable for later in run.pending)
                break
        else:
            return data
        self.fallbacks += 1
        return resolved


async def _settle(run: Run) -> None:
    """Await the run's pending awaitables, a pass at a time, and complete their values."""
    while run.pending:
        batch, run.pending = run.pending, []
        if len(batch) == 1:
            results = [await batch[0].awaitable]
        else:
            results = await gather_with_cancel(*(later.awaitable for later in batch))
        for later, result in zip(batch, results, strict=True):
            later.value = later.complete(result, later.path, run)


def _settled(value: Any) -> Any:
    """``value`` with every ``Later`` replaced by its value."""
    if type(value) is dict:
        return {key: _settled(item) for key, item in value.items()}
    if type(value) is list:
        return [_settled(item) for item in value]
    if type(value) is Later:
        return _settled(value.value)
    return value


def _discard(values: Any) -> None:
    """Close coroutines that will never be awaited (futures settle by themselves)."""
    for value in values:
        if inspect.iscoroutine(value):
            value.close()


def compile_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    resolvers: Resolvers | None = None,
) -> QueryPlan | MutationPlan | None:
    """The plan of the document's query or mutation, or ``None`` if it cannot have one.

    ``operation_name`` as the request gave it: a document of several operations
    without one has no plan (graphql-core answers the error).  ``resolvers`` gives a
    field the resolver a plan calls instead of its own (``app.graphql.engine.resolvers``).
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is OperationType.SUBSCRIPTION:
        return None
    is_query = operation.operation is OperationType.QUERY
    root_type = schema.query_type if is_query else schema.mutation_type
    if root_type is None or _has_directives(document):
        return None
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            fragments[definition.name.value] = FragmentDetails(definition)
    compiler = _Compiler(schema, fragments, operation, resolvers or _own_resolver)
    try:
        grouped = collect_fields(schema, fragments, NO_VARIABLES, root_type, operation)
        if is_query:
            fields, _ = compiler.fields(root_type, grouped.grouped_field_set)
            return QueryPlan(schema, document, operation, fields)
        roots = [
            (key, *compiler.resolver(root_type, key, details))
            for key, details in grouped.grouped_field_set.items()
        ]
    except UnplannableError:
        return None
    return MutationPlan(schema, document, operation, roots, root_type.name)


Resolvers = Callable[[GraphQLField], Callable[..., Any] | None]


def _own_resolver(field: GraphQLField) -> Callable[..., Any] | None:
    return field.resolve


def _has_directives(node: Any) -> bool:
    if isinstance(node, Node):
        if getattr(node, "directives", None):
            return True
        return any(_has_directives(getattr(node, key, None)) for key in node.keys)
    if isinstance(node, tuple | list):
        return any(_has_directives(item) for item in node)
    return False


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        operation: OperationDefinitionNode,
        resolvers: Resolvers,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.operation = operation
        self.resolvers = resolvers
        self.counted = 0
        """Fields compiled so far; the count is each field's index in a run."""

    def _count(self) -> int:
        self.counted += 1
        if self.counted > MAX_FIELDS:
            raise UnplannableError
        return self.counted

    def _field(
        self, parent_type: GraphQLObjectType, details: list[FieldDetails]
    ) -> tuple[GraphQLField, list[FieldNode]]:
        name = details[0].node.name.value
        field_def = parent_type.fields.get(name)
        if field_def is None or any(d.fragment_variable_values for d in details):
            raise UnplannableError
        return field_def, [d.node for d in details]

    def selection(
        self, object_type: GraphQLObjectType, details: list[FieldDetails]
    ) -> tuple[list[tuple[str, FieldFunction]], bool]:
        """The fields of an object of ``object_type``, and whether any needs the path."""
        collected = collect_subfields(
            self.schema, self.fragments, NO_VARIABLES, self.operation, object_type, details
        )
        return self.fields(object_type, collected.grouped_field_set)

    def fields(
        self, parent_type: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]
    ) -> tuple[list[tuple[str, FieldFunction]], bool]:
        """A function per collected field, and whether any of them needs the path."""
        functions = []
        needs_path = False
        for key, details in grouped.items():
            function, field_needs_path = self.field(parent_type, key, details)
            functions.append((key, function))
            needs_path = needs_path or field_needs_path
        return functions, needs_path

    def field(
        self, parent_type: GraphQLObjectType, key: str, details: list[FieldDetails]
    ) -> tuple[FieldFunction, bool]:
        """The function answering one field of an object, and whether it needs the path."""
        index = self._count()
        name = details[0].node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return (lambda source, path, run: type_name), False
        if name.startswith("__"):
            raise UnplannableError
        field_def, nodes = self._field(parent_type, details)
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if (
            isinstance(definition, StrawberryField)
            and definition.is_basic_field
            and getattr(field_def.resolve, "_is_default", False)
            and not field_def.args
        ):
            complete, completion_needs_path = self._completer(field_def.type, details, None)
            return self._attribute(
                definition, parent_type.name, key, field_def.type, complete, completion_needs_path
            )
        call, complete = self._resolver(parent_type, field_def, nodes, details, index)
        type_name = parent_type.name

        def resolved(source: Any, parent_path: Path | None, run: Run) -> Any:
            path = Path(parent_path, key, type_name)
            result = call(source, path, run)
            if is_awaitable(result):
                later = Later(result, complete, path)
                run.pending.append(later)
                if parent_path is not None:
                    run.nested = True
                return later
            return complete(result, path, run)

        return resolved, True

    def resolver(
        self, parent_type: GraphQLObjectType, key: str, details: list[FieldDetails]
    ) -> tuple[ResolverCall, Completer]:
        """A root field of a mutation: the call of its resolver and the completion of
        what it returned, which the plan runs apart."""
        index = self._count()
        if details[0].node.name.value == "__typename":
            type_name = parent_type.name
            return (lambda source, path, run: type_name), (lambda value, path, run: value)
        # Other meta fields are not fields of the mutation type: _field refuses them.
        field_def, nodes = self._field(parent_type, details)
        return self._resolver(parent_type, field_def, nodes, details, index)

    def _resolver(
        self,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        nodes: list[FieldNode],
        details: list[FieldDetails],
        index: int,
    ) -> tuple[ResolverCall, Completer]:
        """A field with a resolver: calling it as graphql-core does, and the completer
        of its type."""
        resolve = self.resolvers(field_def)
        if resolve is None:
            raise UnplannableError
        complete, _ = self._completer(field_def.type, details, (field_def, nodes, parent_type))
        arguments = _arguments(field_def, nodes[0], index)

        def call(source: Any, path: Path, run: Run) -> Any:
            info = run.resolve_info(field_def, nodes, parent_type, path)
            return resolve(source, info, **arguments(run))

        return call, complete

    @staticmethod
    def _attribute(  # noqa: PLR0917
        definition: StrawberryField,
        type_name: str,
        key: str,
        field_type: GraphQLOutputType,
        complete: Completer,
        needs_path: bool,
    ) -> tuple[FieldFunction, bool]:
        read, attribute = definition.default_resolver, definition.python_name
        inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            serialize, non_null = _serializer(inner), inner is not field_type

            def leaf(source: Any, path: Path | None, run: Run) -> Any:
                value = read(source, attribute)
                if value is None:
                    if non_null:
                        raise FallbackError
                    return None
                return serialize(value)

            return leaf, False
        if not needs_path:
            return (lambda source, path, run: complete(read(source, attribute), None, run)), False

        def attribute_field(source: Any, parent_path: Path | None, run: Run) -> Any:
            return complete(read(source, attribute), Path(parent_path, key, type_name), run)

        return attribute_field, True

    def _completer(
        self, type_: GraphQLOutputType, details: list[FieldDetails], field_of: FieldOf | None
    ) -> tuple[Completer, bool]:
        """Completes a value of ``type_``, as graphql-core's ``complete_value``.

        ``field_of`` is the field whose own value this is (not an item of a list in
        it): only such a value of an abstract type can be completed, with the info
        graphql-core hands the type's ``resolve_type``.
        """
        if isinstance(type_, GraphQLNonNull):
            inner, needs_path = self._completer(type_.of_type, details, field_of)

            def non_null(value: Any, path: Path | None, run: Run) -> Any:
                if value is None:
                    raise FallbackError
                return inner(value, path, run)

            return non_null, needs_path
        if isinstance(type_, GraphQLList):
            return self._list(type_, details)
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return _leaf(type_), False
        if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
            return self._object(type_, details)
        if isinstance(type_, GraphQLUnionType | GraphQLInterfaceType) and field_of is not None:
            return self._abstract(type_, details, field_of)
        raise UnplannableError

    def _list(self, type_: GraphQLList[Any], details: list[FieldDetails]) -> tuple[Completer, bool]:
        item, needs_path = self._completer(type_.of_type, details, None)
        if needs_path:

            def list_with_paths(value: Any, path: Path | None, run: Run) -> Any:
                if value is None:
                    return None
                if type(value) is not list and type(value) is not tuple:
                    raise FallbackError
                return [item(v, Path(path, index, None), run) for index, v in enumerate(value)]

            return list_with_paths, True

        def list_(value: Any, path: Path | None, run: Run) -> Any:
            if value is None:
                return None
            if type(value) is not list and type(value) is not tuple:
                raise FallbackError
            return [item(v, None, run) for v in value]

        return list_, False

    def _object(
        self, type_: GraphQLObjectType, details: list[FieldDetails]
    ) -> tuple[Completer, bool]:
        fields, needs_path = self.selection(type_, details)

        def object_(value: Any, path: Path | None, run: Run) -> Any:
            if value is None:
                return None
            if isinstance(value, Exception) or value is Undefined or is_awaitable(value):
                raise FallbackError
            return {key: function(value, path, run) for key, function in fields}

        return object_, needs_path

    def _abstract(
        self, type_: GraphQLAbstractType, details: list[FieldDetails], field_of: FieldOf
    ) -> tuple[Completer, bool]:
        """As ``complete_abstract_value``: the runtime type named by the type's own
        ``resolve_type``, given the field's resolve info, then that object type's
        selection (compiled for every possible type).  A name that is not one of
        them, or an awaitable one, falls back (graphql-core reports or awaits it)."""
        resolve_type = type_.resolve_type
        if resolve_type is None:
            raise UnplannableError
        possible_types = self.schema.get_possible_types(type_)
        if any(possible.is_type_of is not None for possible in possible_types):
            raise UnplannableError
        by_name = {possible.name: self._object(possible, details)[0] for possible in possible_types}
        field_def, nodes, parent_type = field_of

        def abstract(value: Any, path: Path | None, run: Run) -> Any:
            if value is None:
                return None
            if isinstance(value, Exception) or value is Undefined or is_awaitable(value):
                raise FallbackError
            assert path is not None  # needs_path: the field's own path
            info = run.resolve_info(field_def, nodes, parent_type, path)
            name = resolve_type(value, info, type_)
            complete = by_name.get(name) if type(name) is str else None
            if complete is None:
                raise FallbackError
            return complete(value, path, run)

        return abstract, True


def _serializer(type_: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """Serializes a value that is not null, as ``complete_leaf_value``, or falls back."""
    coerce = type_.coerce_output_value

    def serialize(value: Any) -> Any:
        if isinstance(value, Exception) or value is Undefined:
            raise FallbackError
        serialized = coerce(value)
        if serialized is None or serialized is Undefined:
            raise FallbackError
        return serialized

    return serialize


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Completer:
    serialize = _serializer(type_)
    return lambda value, path, run: None if value is None else serialize(value)


def _arguments(
    field_def: GraphQLField, node: FieldNode, index: int
) -> Callable[[Run], dict[str, Any]]:
    """The field's argument values for a run, computed once per run."""
    if not (field_def.args or node.arguments):
        empty: dict[str, Any] = {}
        return lambda run: empty

    def arguments(run: Run) -> dict[str, Any]:
        values = run.arguments.get(index)
        if values is None:
            values = run.arguments[index] = get_argument_values(field_def, node, run.variables)
        return values

    return arguments
