"""``Observed``: each GraphQL operation counted and timed for ``/metrics`` (``app.metrics``).

A schema extension around the whole operation (parsing, validation, execution), so
it sees every request the same way whether the engine (``FAST_EXECUTION``) or
Strawberry's own execution answered it.  It is listed before ``ClientErrors`` and so
leaves the operation after it: the errors it counts carry the codes clients see.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from app import metrics


class Observed(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        name = metrics.operation_label(context.operation_name)
        document = context.graphql_document
        try:
            kind = context.operation_type.value if document is not None else "unknown"
        except RuntimeError:  # no such operation in the document: the client's mistake
            kind = "unknown"
        result = context.result
        errors = getattr(result, "errors", None) or ()
        data = getattr(result, "data", None)
        outcome = "error" if errors and data is None else "partial" if errors else "ok"
        metrics.OPERATIONS.labels(name, kind, outcome).inc()
        metrics.OPERATION_SECONDS.labels(name).observe(time.perf_counter() - started)
        for error in errors:
            metrics.ERRORS.labels(str((error.extensions or {}).get("code", "NONE"))).inc()
