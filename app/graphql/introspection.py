"""Who may introspect the schema (``INTROSPECTION``): ``public``, ``authenticated``, ``off``.

Introspection (``__schema``, ``__type``) hands a caller the whole schema;
``__typename`` is not introspection and is always allowed.  Refusals are
validation rules, so they run before anything executes, the execution engine
included, and are cached with the rest of validation:

- ``off``: Strawberry's ``DisableIntrospection`` (graphql-core's rule) refuses it
  for everyone, ``GRAPHQL_VALIDATION_FAILED`` as any field the schema does not offer;
- ``authenticated``: a request without a valid API key is validated with one rule
  more, which refuses it as ``UNAUTHENTICATED``, as every other field refuses
  such a request.  The rule is part of the validation cache's key, so anonymous
  and keyed requests never share a cached result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule
from strawberry.extensions import DisableIntrospection, SchemaExtension

from app.graphql.permissions import IsAuthenticated

META_FIELDS = frozenset(("__schema", "__type"))


class AnonymousIntrospectionRule(ValidationRule):
    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value in META_FIELDS:
            self.report_error(
                GraphQLError(
                    f"Introspection ('{node.name.value}') needs an API key: send"
                    " 'Authorization: Bearer <API key>'.",
                    node,
                    extensions={**IsAuthenticated.error_extensions},
                )
            )


class IntrospectionNeedsKey(SchemaExtension):
    """Adds ``AnonymousIntrospectionRule`` to a request that has no valid key."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if context.context.identity is None:
            context.validation_rules = (*context.validation_rules, AnonymousIntrospectionRule)
        yield


def introspection_extensions(policy: str) -> list[Callable[[], Any]]:
    """The schema extensions that enforce ``policy``, one of ``app.config.INTROSPECTION``."""
    enforced_by: dict[str, list[Callable[[], Any]]] = {
        "public": [],
        "authenticated": [IntrospectionNeedsKey],
        "off": [DisableIntrospection],
    }
    return enforced_by[policy]
