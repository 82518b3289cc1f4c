"""The two media types of GraphQL over HTTP, and which one a request gets.

- ``application/json``: every well-formed request is answered 200, whatever its
  errors (what clients have always had);
- ``application/graphql-response+json``: a request that never executed (its
  document does not parse or is not valid, its variables do not coerce, its
  operation cannot be chosen) is answered 400 and its body has no ``data``.

A client that names ``application/graphql-response+json`` at the highest quality of
its ``Accept`` gets it; no ``Accept`` or only wildcards (``*/*``, ``application/*``)
keep ``application/json``, the specification's default for legacy clients and what
graphql-http's audit checks; a client that accepts neither gets 406.
"""

from __future__ import annotations

from functools import lru_cache

import mimeparse
from strawberry.types import ExecutionResult

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
CONTENT_TYPES = {
    APPLICATION_JSON: f"{APPLICATION_JSON}; charset=utf-8",
    GRAPHQL_RESPONSE_JSON: f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8",
}
"""The ``Content-Type`` of each: the specification asks for the encoding too."""
NOT_ACCEPTABLE = f"Answers are {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}: accept either."


@lru_cache(maxsize=256)  # clients repeat their Accept; parsing it costs ~40 us
def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or ``None`` when ``accept`` allows neither."""
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    accept = accept.lower()  # media types are case-insensitive; mimeparse compares as given
    # best_match ranks by quality, then by how specific the matching range is, and
    # gives a tie to the candidate listed last: a wildcard ties them.
    if GRAPHQL_RESPONSE_JSON in accept:
        candidates = [APPLICATION_JSON, GRAPHQL_RESPONSE_JSON]
    else:
        candidates = [GRAPHQL_RESPONSE_JSON, APPLICATION_JSON]
    try:
        best: str = mimeparse.best_match(candidates, accept)
    except ValueError:  # a range that is not type/subtype
        return None
    return best or None


def never_executed(result: ExecutionResult) -> bool:
    """A request error: no data, and no error has a path (none came from a field)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and not any(error.path for error in errors)
