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

from collections import OrderedDict
from collections.abc import Iterator

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import SchemaExtension

from app.graphql.engine.internals import STRAWBERRY_VALIDATION_RULES, graphql_schema

MAX_ERRORS = 10
VALIDATED_DOCUMENTS = 256
"""Results kept, least recently used out: as many documents as the ``ParserCache`` keeps."""


class Validated:
    """Validation results by document object, least recently used out.

    Keyed by the document's identity, not its value: the ``ParserCache`` answers the
    same text with the same object, and hashing a document by value walks all of it
    (about 3% of a purchase's CPU with ``functools.lru_cache``).  Each entry keeps its
    schema and document, so neither id can be reused while the entry lives.
    """

    def __init__(self) -> None:
        self._results: OrderedDict[Key, Entry] = OrderedDict()

    def __call__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
        hide_suggestions: bool,
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), rules, hide_suggestions)
        entry = self._results.get(key)
        if entry is not None and entry[0] is schema and entry[1] is document:
            self._results.move_to_end(key)
            return entry[2]
        errors = validate(
            schema, document, (*rules, *STRAWBERRY_VALIDATION_RULES),
            max_errors=MAX_ERRORS, hide_suggestions=hide_suggestions,
        )  # fmt: skip
        self._results[key] = (schema, document, errors)
        if len(self._results) > VALIDATED_DOCUMENTS:
            self._results.popitem(last=False)
        return errors


Key = tuple[int, int, tuple[type[ASTValidationRule], ...], bool]
Entry = tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]
validated = Validated()


class Validation(SchemaExtension):
    """Validates with Strawberry's rules, then ``rules`` (the abuse limits and the
    introspection policy's), then ``anonymous_rules`` when the request has no key.

    The service's rules are added here rather than by one ``AddValidationRules``
    extension per source: Strawberry wraps every hook of every extension anew for
    each request, and three hooks fewer took 4-6% off the service's CPU per request
    (bench/README.md, *Runs*, 2026-12-05, third machine).
    """

    def __init__(
        self,
        *,
        suggestions: bool,
        rules: tuple[type[ASTValidationRule], ...],
        anonymous_rules: tuple[type[ASTValidationRule], ...],
    ) -> None:
        self.hide_suggestions = not suggestions
        self.rules = rules
        self.anonymous_rules = (*rules, *anonymous_rules)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # Strawberry validates only what parsed
        rules = self.anonymous_rules if context.context.identity is None else self.rules
        context.pre_execution_errors = validated(
            graphql_schema(context.schema), context.graphql_document,
            (*context.validation_rules, *rules),
            self.hide_suggestions,
        )  # fmt: skip
        yield
