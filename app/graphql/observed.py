"""Each GraphQL operation counted and timed for ``/metrics`` (``app.metrics``).

``ClientErrors``, the schema extension around the whole operation (parsing,
validation, execution), calls ``record`` as it leaves, after it gave every error the
code clients see: so each request is counted the same way whether the engine
(``FAST_EXECUTION``) or Strawberry's own execution answered it.  Not an extension of
its own: Strawberry walks every extension's hooks on every request, and one more
cost about as much as the counting itself.
"""

from __future__ import annotations

import time
from typing import Any

from strawberry.types import ExecutionContext

from app import metrics

_counted: dict[tuple[str, str, str], tuple[Any, Any]] = {}
"""Each label set's counter and histogram, so a request skips prometheus-client's lookup."""


def record(context: ExecutionContext, started: float) -> None:
    """Count the operation by name, type and result; its errors by code; its latency."""
    name = metrics.operation_label(context.operation_name)
    try:
        kind = context.operation_type.value if context.graphql_document is not None else "none"
    except RuntimeError:  # no such operation in the document: the client's mistake
        kind = "none"
    result = context.result
    errors = getattr(result, "errors", None) or ()
    outcome = (
        "ok" if not errors else "error" if getattr(result, "data", None) is None else "partial"
    )
    key = (name, kind, outcome)
    children = _counted.get(key)
    if children is None:
        children = _counted[key] = (
            metrics.OPERATIONS.labels(name, kind, outcome),
            metrics.OPERATION_SECONDS.labels(name),
        )
    counter, histogram = children
    counter.inc()
    histogram.observe(time.perf_counter() - started)
    for error in errors:
        metrics.ERRORS.labels(str((error.extensions or {}).get("code", "NONE"))).inc()
