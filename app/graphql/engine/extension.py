"""``FastExecution``: the engine's one seam into Strawberry.

Strawberry runs each schema extension's ``on_execute`` around execution, and
executes the operation itself only if no extension has set the execution
context's ``result`` by then (documented for extensions that answer from a
cache).  So this extension answers with the operation's plan when the plan
answers, and otherwise leaves the request to Strawberry's own execution,
untouched.  Everything else of Strawberry's pipeline runs for every request
either way: parsing and its caches, validation with our limits, the other
extensions' hooks (error masking, and any tracing added), error processing.

A mutation's plan that stopped after some of its root resolvers ran hands their
results over (``Resolved``): graphql-core then executes the operation here, as
Strawberry would, with those fields answering from their results, so that no
mutation runs twice (``app.graphql.engine.plans`` says how).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from graphql import DocumentNode, ExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.graphql.engine.internals import execute_with, graphql_schema, provided_operation_name
from app.graphql.engine.plans import MutationPlan, QueryPlan, Resolved, compile_operation
from app.graphql.engine.resolvers import PlainResolvers

PLANNED_DOCUMENTS = 256
"""Documents whose plans are kept, least recently used out: as many as Strawberry's
``ParserCache`` keeps (the same text parses to the same document object)."""


class Plans:
    """Per schema: each document's plans by operation name, compiled once."""

    def __init__(self) -> None:
        self._documents: OrderedDict[int, tuple[DocumentNode, dict[str | None, Any]]] = (
            OrderedDict()
        )
        self._resolvers: PlainResolvers | None = None

    def plan(
        self, schema: Any, document: DocumentNode, operation_name: str | None
    ) -> QueryPlan | MutationPlan | None:
        """``schema``: the Strawberry schema."""
        key = id(document)
        entry = self._documents.get(key)
        if entry is None or entry[0] is not document:
            # The document is kept in the entry, so its id cannot be reused meanwhile.
            entry = self._documents[key] = (document, {})
            if len(self._documents) > PLANNED_DOCUMENTS:
                self._documents.popitem(last=False)
        else:
            self._documents.move_to_end(key)
        plans = entry[1]
        if operation_name not in plans:
            if self._resolvers is None:
                self._resolvers = PlainResolvers(schema)
            plans[operation_name] = compile_operation(
                graphql_schema(schema), document, operation_name, self._resolvers
            )
        plan: QueryPlan | MutationPlan | None = plans[operation_name]
        return None if plan is None or plan.retired else plan


class FastExecution(SchemaExtension):
    def __init__(self, *, plans: Plans) -> None:
        self.plans = plans

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if (
            context.result is None  # another extension answered already
            and document is not None
            and context.operation_type in (OperationType.QUERY, OperationType.MUTATION)
        ):
            plan = self.plans.plan(context.schema, document, provided_operation_name(context))
            if plan is not None:
                outcome = await plan.run(context.root_value, context.context, context.variables)
                if type(outcome) is dict:
                    context.result = ExecutionResult(data=outcome, errors=None)
                elif isinstance(outcome, Resolved):
                    context.result = await execute_with(context, middleware=[outcome])
        yield
