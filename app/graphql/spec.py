"""Where stock Strawberry's answer departs from the GraphQL specification, ours does not.

- A document with several operations and no ``operationName``: the specification
  (GetOperation, section 6.1) makes that a request error.  Strawberry executes the
  document's first operation instead (its ``operation_name`` falls back to the
  first one's name), so the same request would create a customer if the first
  operation is a mutation.  ``OperationSelection`` answers graphql-core's own
  error for it, on every send, before anything is executed.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from app.graphql.engine.internals import provided_operation_name

MULTIPLE_OPERATIONS = "Must provide operation name if query contains multiple operations."
"""graphql-core's message for it."""


class OperationSelection(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and provided_operation_name(context) is None:
            operations = sum(
                isinstance(definition, OperationDefinitionNode)
                for definition in document.definitions
            )
            if operations > 1:
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(MULTIPLE_OPERATIONS)]
                )
        yield
