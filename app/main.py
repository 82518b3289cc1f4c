"""The ASGI application: GraphQL, health checks, request ids, body limits."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.config import Settings
from app.db.engine import service_engine
from app.db.migrations import head_revision
from app.graphql.context import Context
from app.graphql.schema import schema
from app.logs import configure_logging, request_id_var
from app.services.api_keys import Authenticator
from app.services.unit_of_work import UnitsOfWork

access_log = logging.getLogger("credit_ledger.access")


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.app.state
        identity = await state.authenticator.authenticate(request.headers.get("authorization"))
        units = None if identity is None else UnitsOfWork(state.engine, identity.business.id)
        return Context(request=request, response=response, identity=identity, units_of_work=units)


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and is migrated to this code's head."""
    try:
        async with request.app.state.engine.connect() as connection:
            current = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, 503)
    expected = request.app.state.head_revision
    if current != expected:
        return JSONResponse({"status": "migrating", "current": current, "expected": expected}, 503)
    return JSONResponse({"status": "ready", "revision": current})


class RequestContext:
    """Request id, body size limit and one JSON access-log line per request."""

    starlette: Starlette
    """The wrapped application, for callers that drive its lifespan themselves."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if 0 < len(supplied) <= 64 else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        received = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _too_large(limit)(scope, receive, send_with_id)
            else:
                try:
                    await self.app(scope, limited_receive, send_with_id)
                except _BodyTooLargeError:
                    await _too_large(limit)(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"status": status, "ms": round((time.perf_counter() - started) * 1000, 2)},
            )  # fmt: skip
            request_id_var.reset(token)


class _BodyTooLargeError(Exception):
    pass


def _too_large(limit: int) -> Response:
    return JSONResponse({"errors": [{"message": f"Request body exceeds {limit} bytes."}]}, 413)


def create_app(settings: Settings | None = None) -> RequestContext:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        engine = service_engine(settings)
        app.state.engine = engine
        app.state.authenticator = Authenticator(engine, settings.auth_cache_seconds)
        app.state.head_revision = head_revision()
        try:
            yield {}
        finally:
            await engine.dispose()

    graphql = GraphQLApp(schema, graphql_ide="graphiql")
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    wrapped = RequestContext(app, settings.max_body_bytes)
    wrapped.starlette = app
    return wrapped


def asgi() -> ASGIApp:
    """Uvicorn factory (``uvicorn --factory app.main:asgi``)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
