"""GraphQL over HTTP: Strawberry's ASGI view, with the per-request context.

Every answer is JSON: a request Strawberry refuses before GraphQL sees it (a body
that is not JSON or not UTF-8, no query, a method or content type it does not
take) gets its status with ``{"errors": [{"message", "extensions": {"code"}}]}``
instead of Strawberry's plain-text reason (``HTTP_CODES``).
"""

from __future__ import annotations

import json

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.graphql.context import Context
from app.services.retry import TryAgain
from app.services.unit_of_work import UnitsOfWork

HTTP_CODES = {413: "PAYLOAD_TOO_LARGE", 503: "TRY_AGAIN"}
"""``extensions.code`` by HTTP status; any other 4xx is the client's: BAD_USER_INPUT."""
RETRY_AFTER_SECONDS = "1"


def error_response(status: int, message: str) -> JSONResponse:
    """An HTTP-level refusal as a GraphQL error answer."""
    code = HTTP_CODES.get(status, "BAD_USER_INPUT" if status < 500 else "INTERNAL_SERVER_ERROR")
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


class GraphQLApp(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's, with its HTTP refusals answered as JSON (``error_response``)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason)
        await response(scope, receive, send)

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
        units = (
            None
            if identity is None
            else UnitsOfWork(state.engine, state.driver_pool, identity.business.id)
        )
        return Context(request=request, response=response, identity=identity, units_of_work=units)
