"""The schema: every area's queries and mutations merged, with abuse limits.

Clients send constant query texts with variables, so the parser and validation
caches hit on nearly every request.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.tools import merge_types

from app.graphql.catalog import CatalogMutations, CatalogQueries
from app.graphql.customers import CustomerMutations, CustomerQueries
from app.graphql.errors import ClientErrors
from app.graphql.limits import LIMIT_RULES, MAX_TOKENS
from app.graphql.orders import OrderMutations, OrderQueries
from app.graphql.payments import PaymentMutations
from app.graphql.scalars import SCALAR_OVERRIDES
from app.graphql.viewer import ViewerQueries

Query = merge_types("Query", (ViewerQueries, CustomerQueries, CatalogQueries, OrderQueries))
Mutation = merge_types(
    "Mutation", (CustomerMutations, CatalogMutations, OrderMutations, PaymentMutations)
)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        """Expected errors are not worth a traceback; ClientErrors logs the rest."""


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
    scalar_overrides=SCALAR_OVERRIDES,  # type: ignore[arg-type]
    extensions=EXTENSIONS,
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
