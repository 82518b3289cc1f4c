"""Abuse limits, checked before a query runs and before the caller's key matters.

Every refusal is a GraphQL error with ``extensions.code`` ``QUERY_TOO_COMPLEX``
naming the limit, and stops validation before the slower rules run.

- Tokens: graphql-core's parser stops past ``MAX_TOKENS`` (``CappedParserCache``).
- Fields as written: tokens alone do not bound the cost of validation. GraphQL's
  overlapping-fields rule compares fields of the same name pairwise, so about 500
  repeats of ``viewer { role }`` (under 2,000 tokens) took seconds of CPU to
  validate.  Counting the document's fields first, in linear time, refuses such a
  query before the slow rules see it.
- Depth, aliases and fields once fragments are spread: measured with each fragment
  measured once and remembered, so the work is linear in the document's size.
  Strawberry's depth and alias limiters walked every path through the fragments:
  a document whose every fragment spreads the next one twice took twice as long
  per fragment (a 768-byte one held a worker for about 2 s).  Introspection fields
  (``__schema``, ``__type``) do not count for depth: GraphiQL's introspection
  query nests ``ofType`` deeper than any query of ours.

The rules are built once: their classes are part of the ValidationCache key, and
a limiter built per request would make new classes, and a cache miss, every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import ParserCache

MAX_DEPTH = 10
"""Edges from the root: ``MAX_DEPTH + 1`` levels of fields is the deepest allowed."""
MAX_TOKENS = 2_000
MAX_ALIASES = 30
MAX_FIELDS = 150
"""Field selections as written, fragments included once; GraphiQL's introspection has ~75."""
MAX_SPREAD_FIELDS = 2_000
"""Field selections once every fragment is spread where it is used."""
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def refuse(message: str, limit: str) -> None:
    """Stop validating, with ``message`` as the only error (graphql-core answers it)."""
    raise ValidationAbortedError(message, extensions={"code": TOO_COMPLEX, "limit": limit})


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
            # Stop rather than only report: the rules still to run are what would be slow.
            refuse(f"The query selects {fields} fields; at most {MAX_FIELDS} are allowed.",
                   "fields")  # fmt: skip


class Shape(NamedTuple):
    depth: int
    """Levels of fields (introspection fields excepted)."""
    aliases: int
    fields: int


NOTHING = Shape(0, 0, 0)


class _Measure:
    """Shapes of selections, each fragment measured once."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.measured: dict[str, Shape] = {}
        self.measuring: set[str] = set()

    def selection(self, selection_set: SelectionSetNode | None) -> Shape:
        depth = aliases = fields = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                below = self.selection(selection.selection_set)
                fields += 1 + below.fields
                aliases += (selection.alias is not None) + below.aliases
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + below.depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                below = self.selection(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                below = self.fragment(selection.name.value)
            else:
                continue
            depth = max(depth, below.depth)
            aliases += below.aliases
            fields += below.fields
        return Shape(depth, aliases, fields)

    def fragment(self, name: str) -> Shape:
        shape = self.measured.get(name)
        if shape is not None:
            return shape
        if name in self.measuring or name not in self.fragments:
            return NOTHING  # a cycle or an unknown fragment: other rules report those
        self.measuring.add(name)
        shape = self.measured[name] = self.selection(self.fragments[name].selection_set)
        self.measuring.discard(name)
        return shape


class ShapeRule(ValidationRule):
    """Depth, aliases and fields once fragments are spread, per operation."""

    def enter_document(self, node: DocumentNode, *_: object) -> None:
        measure = _Measure(node)
        for definition in node.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            shape = measure.selection(definition.selection_set)
            name = definition.name.value if definition.name else "anonymous"
            if shape.depth - 1 > MAX_DEPTH:
                refuse(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}.",
                       "depth")  # fmt: skip
            if shape.aliases > MAX_ALIASES:
                refuse(f"'{name}' uses {shape.aliases} aliases; at most {MAX_ALIASES}"
                       " are allowed.", "aliases")  # fmt: skip
            if shape.fields > MAX_SPREAD_FIELDS:
                refuse(f"'{name}' selects {shape.fields} fields once its fragments are"
                       f" spread; at most {MAX_SPREAD_FIELDS} are allowed.", "fields")  # fmt: skip


LIMIT_RULES: list[type[ASTValidationRule]] = [MaxFieldsRule, ShapeRule]


class CappedParserCache(ParserCache):
    """Strawberry's ``ParserCache`` with the parser's token cap set, as its
    ``MaxTokensLimiter`` sets it, in the same hook: Strawberry wraps every hook of
    every extension anew for each request (``app.graphql.validation.Validation``)."""

    def __init__(self, *, maxsize: int, max_tokens: int = MAX_TOKENS) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        yield from super().on_parse()
