"""What clients see of failures.

Expected business outcomes are union members, not errors.  Errors a client can
act on keep their ``extensions.code`` (UNAUTHENTICATED, FORBIDDEN, TRY_AGAIN)
and GraphQL validation and variable errors pass through; everything else is masked, logged
with the request id, and answered as INTERNAL_SERVER_ERROR with that id.
"""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from app.logs import request_id_var
from app.services.retry import TryAgain

log = logging.getLogger("credit_ledger.graphql")


def client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it; unexpected ones are logged and masked."""
    original = error.original_error
    if original is None or (error.extensions or {}).get("code"):
        return error
    if isinstance(original, GraphQLError) and not error.path:
        # graphql-core refusing the request before execution (a variable of the
        # wrong type, a missing field, a Money sent as a number): the client's
        # mistake, and the message is about the request.
        return error
    if isinstance(original, TryAgain):
        return GraphQLError(
            str(original), nodes=error.nodes, path=error.path,
            extensions={"code": "TRY_AGAIN"},
        )  # fmt: skip
    request_id = request_id_var.get()
    log.error(
        "unexpected error in %s", ".".join(map(str, error.path or [])),
        exc_info=original, extra={"graphql_path": error.path},
    )  # fmt: skip
    return GraphQLError(
        f"Unexpected error; quote request id {request_id} when reporting it.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


class ClientErrors(SchemaExtension):
    def on_operation(self):  # type: ignore[no-untyped-def]
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [client_error(error) for error in errors]
