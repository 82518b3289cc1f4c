"""Abuse limits, checked before a query runs and before the caller's key matters.

Depth, aliases and tokens use Strawberry's limiters.  Tokens alone do not bound
the cost of validation: GraphQL's overlapping-fields rule compares fields of the
same name pairwise, so about 500 repeats of ``viewer { role }`` (under 2,000
tokens) took seconds of CPU to validate.  Counting the document's fields first,
in linear time, refuses such a query before the slow rules see it.

The rules are built once: their classes are part of the ValidationCache key, and
a limiter built per request would make new classes, and a cache miss, every time.
"""

from __future__ import annotations

from graphql import ASTValidationRule, DocumentNode, FieldNode, Node, ValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 30
MAX_FIELDS = 150
"""Field selections in one document, fragments included; GraphiQL's introspection has ~75."""


def count_fields(document: DocumentNode) -> int:
    count = 0
    pending: list[Node] = list(document.definitions)
    while pending:
        node = pending.pop()
        count += isinstance(node, FieldNode)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            pending.extend(selection_set.selections)
    return count


class MaxFieldsRule(ValidationRule):
    def enter_document(self, node: DocumentNode, *_: object) -> None:
        fields = count_fields(node)
        if fields > MAX_FIELDS:
            # Abort rather than report: the rules still to run are what would be slow.
            raise ValidationAbortedError(
                f"The query selects {fields} fields; at most {MAX_FIELDS} are allowed."
            )


LIMIT_RULES: list[type[ASTValidationRule]] = [
    MaxFieldsRule,
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]
