"""The schema: every area's queries and mutations merged, with abuse limits.

Strawberry's stock pipeline runs every request: parsing (cached per text),
validation with the abuse limits (``app.graphql.limits``) and the introspection
policy (``app.graphql.introspection``), cached per text (``app.graphql.validation``),
execution, error masking (``ClientErrors``), each an extension.  The execution
engine (``app.graphql.engine``) plugs into it as one more extension, unless
``FAST_EXECUTION=0``.
"""

from __future__ import annotations

import functools
from typing import Any

import strawberry
import strawberry.schema.name_converter
from graphql import GraphQLSyntaxError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from app.graphql.adjustments import AdjustmentMutations
from app.graphql.audit import AuditQueries
from app.graphql.balances import BalanceQueries
from app.graphql.catalog import CatalogMutations, CatalogQueries
from app.graphql.customers import CustomerMutations, CustomerQueries
from app.graphql.engine import engine_extensions
from app.graphql.errors import ClientErrors, request_error_code
from app.graphql.introspection import introspection_rules
from app.graphql.limits import LIMIT_RULES, CappedParserCache
from app.graphql.orders import OrderMutations, OrderQueries
from app.graphql.overdue import OverdueQueries
from app.graphql.payments import PaymentMutations
from app.graphql.product_lists import ProductListQueries
from app.graphql.reports import ReportQueries
from app.graphql.returns import ReturnMutations
from app.graphql.scalars import SCALAR_MAP
from app.graphql.sessions import SessionMutations
from app.graphql.settings import SettingsMutations, SettingsQueries
from app.graphql.spec import OperationSelection
from app.graphql.stock import StockMutations
from app.graphql.users import UserMutations, UserQueries
from app.graphql.validation import Validation
from app.graphql.viewer import ViewerQueries
from app.graphql.voids import VoidMutations

Query = merge_types(
    "Query",
    (
        ViewerQueries, CustomerQueries, BalanceQueries, OverdueQueries, CatalogQueries,
        ProductListQueries, OrderQueries, SettingsQueries, UserQueries, ReportQueries, AuditQueries,
    ),
)  # fmt: skip
Mutation = merge_types(
    "Mutation",
    (
        CustomerMutations, CatalogMutations, OrderMutations, PaymentMutations,
        SettingsMutations, SessionMutations, UserMutations, StockMutations,
        AdjustmentMutations, VoidMutations, ReturnMutations,
    ),
)  # fmt: skip


class NameConverter(strawberry.schema.name_converter.NameConverter):
    """Strawberry's names, with the snake_case to camelCase step memoised.

    Strawberry converts every input field and argument name again on every
    request; the names are a fixed set, so each is converted once.
    """

    @functools.cache  # noqa: B019 - one converter for the process, a fixed set of names
    def apply_naming_config(self, name: str) -> str:
        return super().apply_naming_config(name)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        """Expected errors are not worth a traceback; ClientErrors logs the rest.

        A syntax error raised while an extension parses never passes ClientErrors
        (Strawberry answers it outside the operation), so its code is set here, in
        place, as Strawberry itself edits errors here (field suggestions).
        """
        for error in errors:
            if isinstance(error, GraphQLSyntaxError) and not (error.extensions or {}).get("code"):
                code = request_error_code(error, in_validation=False)
                error.extensions = {**(error.extensions or {}), "code": code}


def build_schema(*, fast_execution: bool = True, introspection: str = "authenticated") -> Schema:
    """The service's schema; with ``fast_execution``, the engine plugged in.

    ``introspection`` (``app.graphql.introspection``) also decides whether error
    messages suggest names ("Did you mean …?"): only when it is ``public``.
    """
    suggestions = introspection == "public"
    policy = introspection_rules(introspection)
    rules = (*LIMIT_RULES, *policy.everyone)
    # Classes and factories, never instances: Strawberry keeps each request's execution
    # context on the extension, so a shared instance would be shared by concurrent requests.
    extensions: list[Any] = [
        lambda: ClientErrors(suggestions=suggestions),
        OperationSelection,
        lambda: CappedParserCache(maxsize=256),
        lambda: Validation(suggestions=suggestions, rules=rules, anonymous_rules=policy.anonymous),
        *engine_extensions(enabled=fast_execution),
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(name_converter=NameConverter(), scalar_map=SCALAR_MAP),
    )


schema = build_schema()


def export_sdl() -> str:
    return schema.as_str() + "\n"
