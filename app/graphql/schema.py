"""The schema: every area's queries and mutations merged, with abuse limits.

Clients send constant query texts with variables, so the parser and validation
caches hit on nearly every request.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from app.graphql.balances import BalanceQueries
from app.graphql.catalog import CatalogMutations, CatalogQueries
from app.graphql.customers import CustomerMutations, CustomerQueries
from app.graphql.errors import ClientErrors
from app.graphql.overdue import OverdueQueries
from app.graphql.scalars import SCALAR_OVERRIDES
from app.graphql.viewer import ViewerQueries

Query = merge_types(
    "Query", (ViewerQueries, CustomerQueries, BalanceQueries, OverdueQueries, CatalogQueries)
)
Mutation = merge_types("Mutation", (CustomerMutations, CatalogMutations))

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 30


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        """Expected errors are not worth a traceback; ClientErrors logs the rest."""


EXTENSIONS: list[Any] = [
    ClientErrors,
    QueryDepthLimiter(max_depth=MAX_DEPTH),
    MaxTokensLimiter(max_token_count=MAX_TOKENS),
    MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    ParserCache(maxsize=256),
    ValidationCache(maxsize=256),
]

schema = Schema(
    query=Query,
    mutation=Mutation,
    scalar_overrides=SCALAR_OVERRIDES,  # type: ignore[arg-type]
    extensions=EXTENSIONS,
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
