"""What clients see of failures.

Expected business outcomes are union members, not errors.  Every error carries an
``extensions.code``:

- ``GRAPHQL_PARSE_FAILED``: the document is not GraphQL;
- ``GRAPHQL_VALIDATION_FAILED``: it is not valid against the schema;
- ``QUERY_TOO_COMPLEX``: it is over a limit (``app.graphql.limits``), named in
  ``extensions.limit``;
- ``BAD_USER_INPUT``: a literal of a custom scalar that does not parse (the message
  says which type and why), variables that do not coerce, an unknown or missing
  operation name, and what resolvers refuse as such (bad cursors, bad ids);
- what resolvers raise with a code of their own (UNAUTHENTICATED, FORBIDDEN,
  TRY_AGAIN) keeps it;
- everything else is a bug: masked, logged with the request id, and answered as
  ``INTERNAL_SERVER_ERROR`` with that id.

Unless introspection is public, no message suggests names ("Did you mean
'amount'?"): validation is told not to make them (``app.graphql.validation``),
and graphql-core's coercion of variables, which Strawberry calls without that
option, has them cut out here (``without_suggestion``).

A client's mistake is never an internal error: an error without a path was raised
before execution started, about the request.
"""

from __future__ import annotations

import logging
import re
import time

from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from app import metrics
from app.deadline import DeadlineExceeded
from app.graphql import observed
from app.graphql.limits import TOO_COMPLEX
from app.logs import request_id_var
from app.services.retry import TryAgain

log = logging.getLogger("credit_ledger.graphql")

SUGGESTION = re.compile(r" Did you mean [^?]*\?")
"""graphql-core's suggestion (``graphql.pyutils.did_you_mean``): quoted names, which
never hold a ``?``, at the end of a message or before what was found."""


ARGUMENT_ERROR = "Argument '"
"""How graphql-core's errors about an argument's runtime value begin (a variable sent
as ``null`` where its default filled a non-null argument): input the client can
correct.  Any other error graphql-core raises during execution (a null for a
non-null field, say) is a bug of the service."""


def with_code(error: GraphQLError, code: str) -> GraphQLError:
    return GraphQLError(
        error.message, nodes=error.nodes, path=error.path,
        original_error=error.original_error, extensions={**(error.extensions or {}), "code": code},
    )  # fmt: skip


def request_error_code(error: GraphQLError, *, in_validation: bool) -> str:
    """The code of an error raised before execution, about the request."""
    if isinstance(error.original_error, DeadlineExceeded):
        return TOO_COMPLEX
    if isinstance(error, GraphQLSyntaxError):
        # The token cap (limits.CappedParserCache) stops the parser with a syntax error.
        return TOO_COMPLEX if "tokens. Parsing aborted" in error.message else "GRAPHQL_PARSE_FAILED"
    if in_validation and not isinstance(error.original_error, ValueError | TypeError):
        return "GRAPHQL_VALIDATION_FAILED"
    # A scalar literal that does not parse (found in validation), variables, the
    # operation name: input the client can correct.
    return "BAD_USER_INPUT"


def client_error(error: GraphQLError, *, in_validation: bool = False) -> GraphQLError:
    """The error as the client may see it; unexpected ones are logged and masked."""
    if (error.extensions or {}).get("code"):
        return error
    if not error.path:
        return with_code(error, request_error_code(error, in_validation=in_validation))
    original = error.original_error
    if isinstance(original, GraphQLError | None) and error.message.startswith(ARGUMENT_ERROR):
        return with_code(error, "BAD_USER_INPUT")
    if isinstance(original, TryAgain | DeadlineExceeded):
        code = "TRY_AGAIN" if isinstance(original, TryAgain) else TOO_COMPLEX
        return GraphQLError(
            str(original), nodes=error.nodes, path=error.path, extensions={"code": code}
        )
    request_id = request_id_var.get()
    log.error(
        "unexpected error in %s: %s", ".".join(map(str, error.path or [])), error.message,
        exc_info=original, extra={"graphql_path": error.path},
    )  # fmt: skip
    return GraphQLError(
        f"Unexpected error; quote request id {request_id} when reporting it.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message, nodes=error.nodes, path=error.path,
        original_error=error.original_error, extensions=error.extensions,
    )  # fmt: skip


class ClientErrors(SchemaExtension):
    def __init__(self, *, suggestions: bool) -> None:
        self.suggestions = suggestions
        self.validation_errors: set[int] = set()

    def on_validate(self):  # type: ignore[no-untyped-def]
        yield
        errors = self.execution_context.pre_execution_errors or []
        self.validation_errors = {id(error) for error in errors}

    def on_operation(self):  # type: ignore[no-untyped-def]
        started = time.perf_counter() if metrics.enabled else 0.0
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            answered = [
                client_error(error, in_validation=id(error) in self.validation_errors)
                for error in errors
            ]
            if not self.suggestions:
                answered = [without_suggestion(error) for error in answered]
            result.errors = answered
        if metrics.enabled:  # the outermost hook: errors now carry the codes clients see
            observed.record(self.execution_context, started)
