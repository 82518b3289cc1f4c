"""GraphQL over HTTP: Strawberry's ASGI view, and a direct path for prepared requests.

Clients send a few constant query texts as ``POST`` JSON.  Once a text is
prepared (``app.graphql.schema``: it parsed and validated once), such a request
needs little of the generic machinery around execution: Starlette's routing and
middleware, Strawberry's request adapter, content negotiation and response
objects cost about 0.2 ms of CPU a request, a fifth of a purchase.
``GraphQLApp.answer_prepared`` answers those requests itself, doing what that
path does for them in the same order: build the context (authentication
included), execute, shape the result as Strawberry's ``process_result``,
answer 200 with the sub-response's headers and status.  Everything else
(GET, GraphiQL, other content types, batches, streaming ``Accept`` headers,
``extensions``, texts not yet prepared, malformed bodies) goes the usual way,
so its answers, errors included, are Strawberry's own.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy.exc import TimeoutError as EnginePoolTimeout
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import process_result
from strawberry.types.graphql import OperationType

from app.db.driver_pool import PoolTimeout
from app.graphql.context import Context
from app.graphql.schema import Schema
from app.services.retry import BUSY
from app.services.unit_of_work import UnitsOfWork

_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_JSON = b"application/json"


class GraphQLApp(GraphQL[Context, None]):
    schema: Schema

    def decode_json(self, data: str | bytes) -> object:
        """Refuse a body that is JSON but not a request (``null``, ``"x"``, ``5``) with 400.

        Strawberry calls ``.get`` on whatever the body decodes to, which turned
        these into 500s; a decode error is what it answers with a 400.
        """
        decoded = super().decode_json(data)
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
        except (EnginePoolTimeout, PoolTimeout) as exc:
            # No connection came free to check the key (one not yet cached): nothing ran.
            raise HTTPException(503, BUSY) from exc
        units = (
            None
            if identity is None
            else UnitsOfWork(state.engine, state.driver_pool, identity.business.id)
        )
        return Context(request=request, response=response, identity=identity, units_of_work=units)

    def prepared_request(self, scope: Scope, body: bytes) -> dict[str, Any] | None:
        """The request's JSON if it can take the direct path, else ``None``."""
        if scope["method"] != "POST" or not self._plain_json(scope["headers"]):
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("extensions") is not None:
            return None
        query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            return None
        prepared = self.schema.prepared.get((query, name))
        if prepared is None or prepared.operation_type not in _POST_OPERATIONS:
            return None
        return data

    def _plain_json(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """A JSON body, and an answer wanted as one JSON document (not a stream)."""
        content_type = accept = b""
        for name, value in headers:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        if content_type.split(b";", 1)[0].strip().lower() != _JSON:
            return False
        return not (
            accept and self._get_stream_transport_from_headers({"accept": accept.decode("latin-1")})
        )

    async def answer_prepared(self, scope: Scope, data: dict[str, Any], send: Send) -> None:
        """Answer a request that ``prepared_request`` accepted, as the usual path would."""
        request = Request(scope)
        sub_response = await self.get_sub_response(request)
        try:
            context = await self.get_context(request, sub_response)
        except HTTPException as exc:
            await PlainTextResponse(exc.reason, status_code=exc.status_code)(scope, no_body, send)
            return
        result = await self.schema.execute(
            data["query"],
            variable_values=data.get("variables"),
            context_value=context,
            operation_name=data.get("operationName"),
            allowed_operation_types=_POST_OPERATIONS,
        )
        body = orjson.dumps(process_result(result))
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", _JSON),
            *sub_response.headers.raw,
        ]
        await send(
            {
                "type": "http.response.start",
                "status": sub_response.status_code or 200,
                "headers": headers,
            }
        )
        await send({"type": "http.response.body", "body": body})
        if sub_response.background is not None:
            await sub_response.background()


async def no_body() -> Message:
    """The ``receive`` of a response sent after the body was read."""
    return {"type": "http.disconnect"}
