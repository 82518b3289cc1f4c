"""Who may introspect the schema (``INTROSPECTION``): ``public``, ``authenticated``, ``off``.

Introspection (``__schema``, ``__type``) hands a caller the whole schema;
``__typename`` is not introspection and is always allowed.  Refusals are
validation rules, so they run before anything executes, the execution engine
included, and are cached with the rest of validation:

- ``off``: graphql-core's ``NoSchemaIntrospectionCustomRule`` (the rule of
  Strawberry's ``DisableIntrospection``) refuses it for everyone,
  ``GRAPHQL_VALIDATION_FAILED`` as any field the schema does not offer;
- ``authenticated``: a request without a valid API key is validated with one rule
  more, which refuses it as ``UNAUTHENTICATED``, as every other field refuses
  such a request.  The rule is part of the validation cache's key, so anonymous
  and keyed requests never share a cached result.
"""

from __future__ import annotations

from typing import NamedTuple

from graphql import (
    ASTValidationRule,
    FieldNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    ValidationRule,
)

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


class PolicyRules(NamedTuple):
    """The validation rules a policy adds: for every request, and for one without a key."""

    everyone: tuple[type[ASTValidationRule], ...]
    anonymous: tuple[type[ASTValidationRule], ...]


def introspection_rules(policy: str) -> PolicyRules:
    """The rules that enforce ``policy``, one of ``app.config.INTROSPECTION``
    (``app.graphql.validation.Validation`` adds them)."""
    enforced_by = {
        "public": PolicyRules((), ()),
        "authenticated": PolicyRules((), (AnonymousIntrospectionRule,)),
        "off": PolicyRules((NoSchemaIntrospectionCustomRule,), ()),
    }
    return enforced_by[policy]
