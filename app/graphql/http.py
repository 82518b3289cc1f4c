"""GraphQL over HTTP: Strawberry's ASGI view, with the per-request context.

Every answer is JSON, in the media type the request's ``Accept`` asks for
(``app.graphql.media_types``: with ``application/graphql-response+json`` a request
that never executed is a 400 without ``data``).  A request Strawberry refuses
before GraphQL sees it (a body that is not JSON or not UTF-8, no query, a
parameter of the wrong type, a method or content type it does not take) gets its
status with ``{"errors": [{"message", "extensions": {"code"}}]}`` instead of
Strawberry's plain-text reason (``HTTP_CODES``).
"""

from __future__ import annotations

import json

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from app import metrics
from app.domain.identity import Identity
from app.graphql.audited import write_refusals
from app.graphql.context import Context
from app.graphql.media_types import (
    APPLICATION_JSON,
    CONTENT_TYPES,
    GRAPHQL_RESPONSE_JSON,
    NOT_ACCEPTABLE,
    negotiate,
    never_executed,
)
from app.services.rate_limits import retry_after
from app.services.retry import TryAgain
from app.services.unit_of_work import UnitsOfWork

HTTP_CODES = {413: "PAYLOAD_TOO_LARGE", 429: "RATE_LIMITED", 503: "TRY_AGAIN"}
"""``extensions.code`` by HTTP status; any other 4xx is the client's: BAD_USER_INPUT."""
RETRY_AFTER_SECONDS = "1"
BAD_OPERATION_NAME = (
    "The GraphQL operation's `operationName` must be a string or null, if provided."
)


class RateLimited(HTTPException):
    """The caller's key or user is over its request limit (``app.services.rate_limits``)."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(429, f"Too many requests; retry in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


def error_response(
    status: int,
    message: str,
    media_type: str = APPLICATION_JSON,
    *,
    code: str | None = None,
    retry_after: str = RETRY_AFTER_SECONDS,
) -> JSONResponse:
    """An HTTP-level refusal as a GraphQL error answer; ``code`` defaults by ``status``."""
    code = code or HTTP_CODES.get(
        status, "BAD_USER_INPUT" if status < 500 else "INTERNAL_SERVER_ERROR"
    )
    headers = {"Retry-After": retry_after} if status in (429, 503) else None
    if metrics.enabled:
        metrics.ERRORS.labels(code).inc()
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status, headers, media_type=CONTENT_TYPES[media_type])


def rate_subject(identity: Identity) -> str:
    """Whose requests are counted together: one API key, or one user."""
    business = identity.business.id
    if identity.user_id is not None:
        return f"user:{business}:{identity.user_id}"
    return f"key:{business}:{identity.key_id}"


class GraphQLApp(GraphQL[Context, None]):
    ide_page: str | None = None
    """GraphiQL's page when set (``app.graphiql.page``), instead of Strawberry's."""

    @property
    def graphql_ide_html(self) -> str:
        return self.ide_page or super().graphql_ide_html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's, in the negotiated media type, its refusals as JSON (``error_response``)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None and not self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            await error_response(406, NOT_ACCEPTABLE)(scope, receive, send)
            return
        media_type = media_type or APPLICATION_JSON  # GraphiQL's page is HTML anyway
        request.state.media_type = media_type
        request.state.never_executed = False
        try:
            response = await self.run(request)
        except RateLimited as exc:
            response = error_response(
                429, exc.reason, media_type, retry_after=str(exc.retry_after_seconds)
            )
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason, media_type)
        else:
            if response.media_type == APPLICATION_JSON:  # a GraphQL answer, not GraphiQL
                response.headers["content-type"] = CONTENT_TYPES[media_type]
                if request.state.never_executed:
                    response.status_code = 400
        await response(scope, receive, send)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, refusing an ``operationName`` that is not a string as it
        refuses such a ``query``, ``variables`` or ``extensions``."""
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, str | None):
            raise HTTPException(400, BAD_OPERATION_NAME)
        return data

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Strawberry's, once the audit entries of refused mutations are written and the
        numbering of the request's sales still unnumbered is started (``Context``); with
        ``application/graphql-response+json``, a request that never executed has no
        ``data`` (and ``__call__`` answers it 400)."""
        context = getattr(request.state, "graphql_context", None)
        if context is not None:
            if context.refused:
                await write_refusals(context)
            if context.unnumbered_sale and context.numbering is not None:
                context.numbering.after_sale(context.uow.business_id)
        answer = await super().process_result(request, result)
        if request.state.media_type == GRAPHQL_RESPONSE_JSON and never_executed(result):
            del answer["data"]
            request.state.never_executed = True
        return answer

    def decode_json(self, data: str | bytes) -> object:
        """Refuse, with 400, a body that is not JSON, not UTF-8, nested deeper than
        orjson's 1,024 levels, or JSON but not a request (``null``, ``"x"``, ``5``).

        Strawberry answers a ``JSONDecodeError`` with 400; ``json.loads`` raised other
        errors for bytes that are not UTF-8 or too deep (500), and Strawberry called
        ``.get`` on whatever the body decoded to.
        """
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            try:  # json accepts escaped lone surrogates, which resolvers then refuse by name
                decoded = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise json.JSONDecodeError("not a JSON request body", "", 0) from exc
        if not isinstance(decoded, dict | list):
            raise json.JSONDecodeError("a GraphQL request is a JSON object", "", 0)
        return decoded

    def encode_json(self, data: object) -> bytes:
        # orjson: the same JSON about five times faster than ``json.dumps``; the
        # answers hold only strings, integers, booleans and nulls.
        return orjson.dumps(data)

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.app.state
        try:
            identity = await state.authenticator.authenticate(request.headers.get("authorization"))
        except TryAgain as exc:
            # The key is not cached and the database could not check it: nothing ran.
            raise HTTPException(503, str(exc)) from exc
        limiter = state.request_limiter
        if identity is not None and limiter is not None:
            wait = limiter.admit(rate_subject(identity))
            if wait is not None:
                raise RateLimited(retry_after(wait))
        units = (
            None
            if identity is None
            else UnitsOfWork(
                state.engine, state.driver_pool, identity.business.id, identity.created_by
            )
        )
        context = Context(
            request=request,
            response=response,
            identity=identity,
            units_of_work=units,
            numbering=state.numbering,
        )
        # Its refusals are written, and its sales' numbering started, before the answer.
        request.state.graphql_context = context
        return context
