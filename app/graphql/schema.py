"""The schema: every area's queries and mutations merged, with abuse limits.

Prepared operations
-------------------
Clients send a few constant query texts with variables.  The first time a text
arrives it goes through Strawberry's whole pipeline: parsing with the token
limit, validation with the abuse limits (``app.graphql.limits``), execution and
error masking, each an extension.  If it parsed and validated, its document and
operation type are remembered (per process, least recently used out), and a
plan compiled (``app.graphql.compiled``).  Later requests with the same text and
operation name skip straight to execution: by the plan, which answers only when
nothing went wrong, otherwise by graphql-core's execution of that document (a
mutation's with the results of the resolvers its plan already ran); errors are
then masked as ``ClientErrors`` does.

Parsing and validation depend only on the text and the schema, so a prepared
text would pass them again: skipping them changes no answer.  What does depend
on the request is still checked per request: whether its operation type is
allowed (no mutations over GET), the variables (coerced by graphql-core), the
caller (permission classes on the fields).  The extension machinery, parsing
and validation were about a quarter of the CPU of a purchase request.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import strawberry
import strawberry.schema.name_converter
from graphql import DocumentNode, GraphQLError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from app.graphql.balances import BalanceQueries
from app.graphql.catalog import CatalogMutations, CatalogQueries
from app.graphql.compiled import MutationPlan, QueryPlan, Resolved, compile_operation
from app.graphql.customers import CustomerMutations, CustomerQueries
from app.graphql.errors import ClientErrors, client_error
from app.graphql.execution import ShortcutExecutionContext
from app.graphql.limits import LIMIT_RULES, MAX_TOKENS
from app.graphql.orders import OrderMutations, OrderQueries
from app.graphql.overdue import OverdueQueries
from app.graphql.payments import PaymentMutations
from app.graphql.plain_resolvers import install_plain_resolvers
from app.graphql.scalars import SCALAR_OVERRIDES
from app.graphql.viewer import ViewerQueries

Query = merge_types(
    "Query",
    (ViewerQueries, CustomerQueries, BalanceQueries, OverdueQueries, CatalogQueries, OrderQueries),
)
Mutation = merge_types(
    "Mutation", (CustomerMutations, CatalogMutations, OrderMutations, PaymentMutations)
)

PREPARED_OPERATIONS = 256
"""Distinct (query text, operation name) pairs remembered per process."""
PREPARED_QUERY_CHARS = 16_384
"""Longer texts are not remembered, which bounds what the cache holds.

The documents themselves are the ones Strawberry's ParserCache (also 256 texts) keeps.
"""


@dataclass(frozen=True, slots=True)
class Prepared:
    document: DocumentNode
    operation_type: OperationType
    plan: QueryPlan | MutationPlan | None
    """The plan that executes it without graphql-core (``app.graphql.compiled``)."""


class NameConverter(strawberry.schema.name_converter.NameConverter):
    """Strawberry's names, with the snake_case to camelCase step memoised.

    Strawberry converts every input field and argument name again on every
    request; the names are a fixed set, so each is converted once.
    """

    @functools.cache  # noqa: B019 - one converter for the process, a fixed set of names
    def apply_naming_config(self, name: str) -> str:
        return super().apply_naming_config(name)


class Schema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()

    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        """Expected errors are not worth a traceback; ClientErrors logs the rest."""

    async def _prepare_operation_async(self, context: ExecutionContext, *args: Any) -> Any:
        """Strawberry's parse and validate; remember the document when both passed."""
        errors = await super()._prepare_operation_async(context, *args)
        query, document = context.query, context.graphql_document
        if (
            errors is None
            and query is not None
            and document is not None
            and len(query) <= PREPARED_QUERY_CHARS
            and context.operation_type is not OperationType.SUBSCRIPTION
        ):
            # The name as the request gave it (None when it gave none), as execute looks it up.
            provided_name = context._provided_operation_name
            plan = compile_operation(self._schema, document, provided_name)
            self.prepared[query, provided_name] = Prepared(document, context.operation_type, plan)
            if len(self.prepared) > PREPARED_OPERATIONS:
                self.prepared.popitem(last=False)
        return errors

    async def execute(  # noqa: PLR0917 - Strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        key = (query or "", operation_name)
        prepared = self.prepared.get(key)
        allowed = (
            DEFAULT_ALLOWED_OPERATION_TYPES
            if allowed_operation_types is None
            else allowed_operation_types
        )
        if prepared is None or operation_extensions or prepared.operation_type not in allowed:
            return await super().execute(
                query, variable_values, context_value, root_value, operation_name,
                allowed_operation_types, operation_extensions,
            )  # fmt: skip
        self.prepared.move_to_end(key)
        plan = prepared.plan
        middleware = None
        if plan is not None and not plan.retired:
            outcome = await plan.run(root_value, context_value, variable_values)
            if type(outcome) is dict:
                return ExecutionResult(data=outcome, errors=None)
            if isinstance(outcome, Resolved):  # resolvers that ran must not run again
                middleware = [outcome]
        try:
            result = await await_maybe(
                self._get_execute_function()(
                    self._schema,
                    prepared.document,
                    root_value=root_value,
                    variable_values=variable_values,
                    operation_name=operation_name,
                    context_value=context_value,
                    is_awaitable=optimized_is_awaitable,
                    middleware=middleware,
                    **execution_context_class_kwargs(self.execution_context_class),
                )
            )
        except Exception as exc:  # as Strawberry's pipeline answers an execution failure
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            return ExecutionResult(data=None, errors=[client_error(error)])
        errors = [client_error(error) for error in result.errors] if result.errors else None
        return ExecutionResult(data=result.data, errors=errors)


# Classes and factories, never instances: Strawberry keeps each request's execution
# context on the extension, so a shared instance would be shared by concurrent requests.
EXTENSIONS: list[Any] = [
    ClientErrors,
    lambda: AddValidationRules(LIMIT_RULES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: ParserCache(maxsize=256),
    lambda: ValidationCache(maxsize=256),
]

schema = Schema(
    query=Query,
    mutation=Mutation,
    scalar_overrides=SCALAR_OVERRIDES,
    extensions=EXTENSIONS,
    config=StrawberryConfig(name_converter=NameConverter()),
    execution_context_class=ShortcutExecutionContext,
)
install_plain_resolvers(schema)


def export_sdl() -> str:
    return schema.as_str() + "\n"
