"""Validation: graphql-core's, cached per document, stopping after a few errors.

Strawberry validates with graphql-core's defaults: up to 100 errors, and each
unknown name answered with the known names it resembles ("Did you mean
'viewer'?").  So 500 repeats of an unknown directive cost 100 errors' work and
an answer as long, and the suggestions spell the schema out to a caller who may
not introspect it.  ``Validation`` takes the place of Strawberry's
``ValidationCache``: the same cached call of graphql-core's ``validate`` with
Strawberry's own rules added, and two of its options set: ``max_errors``
(past ``MAX_ERRORS`` errors graphql-core stops, its last error saying "Too many
validation errors, error limit reached. Validation aborted.") and
``hide_suggestions`` (unless introspection is public).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import SchemaExtension

from app.graphql.engine.internals import STRAWBERRY_VALIDATION_RULES, graphql_schema

MAX_ERRORS = 10
VALIDATED_DOCUMENTS = 256
"""Results kept, least recently used out: as many documents as the ``ParserCache`` keeps."""


@functools.lru_cache(maxsize=VALIDATED_DOCUMENTS)
def validated(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    return validate(
        schema, document, (*rules, *STRAWBERRY_VALIDATION_RULES),
        max_errors=MAX_ERRORS, hide_suggestions=hide_suggestions,
    )  # fmt: skip


class Validation(SchemaExtension):
    def __init__(self, *, suggestions: bool) -> None:
        self.hide_suggestions = not suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # Strawberry validates only what parsed
        context.pre_execution_errors = validated(
            graphql_schema(context.schema), context.graphql_document, context.validation_rules,
            self.hide_suggestions,
        )  # fmt: skip
        yield
