"""The ASGI application: GraphQL, health checks, request ids, body limits."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics, tracing
from app.config import Settings
from app.cors import with_cors
from app.db.engine import service_driver_pool, service_engine
from app.db.migrations import head_revision
from app.graphiql import ROUTE as GRAPHIQL_ROUTE
from app.graphiql.page import asset_route, graphiql_page
from app.graphql.http import RETRY_AFTER_SECONDS, GraphQLApp, error_response
from app.graphql.schema import build_schema
from app.logs import configure_logging, request_id_var
from app.receipts.links import ReceiptLinks
from app.receipts.page import receipt_page
from app.reports.routes import report_file, statement_file
from app.services.access_tokens import SigningKeys, TokenPolicy
from app.services.authenticator import Authenticator
from app.services.bills import Numbering
from app.services.key_changes import KeyChangeListener
from app.services.rate_limits import RequestLimiter, SignInPolicy, SignInThrottle
from app.services.sessions import Sessions

access_log = logging.getLogger("credit_ledger.access")


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


READY_TIMEOUT_SECONDS = 2
"""Longest ``/readyz`` waits for the database: a probe that hangs tells nothing."""


async def readyz(request: Request) -> Response:
    """Ready when the database answers and is migrated to this code's head."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as connection:
                current = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one_or_none()
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, 503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )  # fmt: skip
    expected = request.app.state.head_revision
    if current != expected:
        return JSONResponse({"status": "migrating", "current": current, "expected": expected}, 503)
    return JSONResponse({"status": "ready", "revision": current})


class RequestContext:
    """Request id, body size limit, deadline and one JSON access-log line per request.

    The deadline (``REQUEST_DEADLINE_SECONDS``) bounds the whole request, body
    included: past it, whatever the request awaits is cancelled, and the client gets
    408 if its body had not all arrived, else 503 ``TRY_AGAIN`` (a write cancelled
    mid-way rolls back; one that committed answers its retry from its idempotency
    key).  Code that computes without awaiting is bounded by ``app.deadline``.
    """

    def __init__(
        self,
        starlette: Starlette,
        max_body_bytes: int,
        deadline_seconds: float,
        cors_origins: tuple[str, ...] = (),
        handler: ASGIApp | None = None,
    ) -> None:
        """``handler``: what serves a request once its body is read (``starlette``, or
        ``starlette`` inside the tracing middleware); CORS wraps it."""
        self.starlette = starlette
        self.cors_origins = cors_origins
        self.app = with_cors(handler or starlette, cors_origins)
        self.max_body_bytes = max_body_bytes
        self.deadline_seconds = deadline_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        headers = dict(scope["headers"])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if 0 < len(supplied) <= 64 else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        responded = reading = False
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        deadline = asyncio.timeout(self.deadline_seconds)
        try:
            async with deadline:
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    body = None
                else:
                    # Read the whole body before the app runs: a body sent without a length
                    # that turns out too large is refused before any response has started.
                    reading = True
                    body = await _read_body(receive, limit)
                    reading = False
                if body is None:
                    await self.refuse(_too_large(limit))(scope, receive, send_with_id)
                else:
                    await self.app(scope, _replay(body, receive), send_with_id)
        except TimeoutError:
            if not deadline.expired():
                raise
            if not responded:
                late = _late(self.deadline_seconds, body_received=not reading)
                await self.refuse(late)(scope, receive, send_with_id)
        except asyncio.CancelledError:
            # The server is shutting down and its grace is over: say so as JSON (else
            # uvicorn answers a plain-text 500), then let the cancellation go on.
            if not responded:
                await self.refuse(error_response(503, SHUTTING_DOWN))(scope, receive, send_with_id)
            raise
        finally:
            _record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def refuse(self, response: Response) -> ASGIApp:
        """One of this class's own refusals, readable by an allowed origin's page too."""
        return with_cors(response, self.cors_origins)


def _record(scope: Scope, status: int, seconds: float) -> None:
    """The request's access-log line and metrics, each only if it is on."""
    if metrics.enabled:
        metrics.count_request(_route(scope["path"]), status, seconds)
    if access_log.isEnabledFor(logging.INFO):  # skip building the line when it is off
        access_log.info(
            "%s %s %s", scope["method"], scope["path"], status,
            extra={"status": status, "ms": round(seconds * 1000, 2)},
        )  # fmt: skip


ROUTES = frozenset(("/graphql", "/healthz", "/readyz", "/metrics"))


def _route(path: str) -> str:
    """A request's route as a metric label: a bounded set, never the client's path."""
    if path in ROUTES:
        return path
    return "/receipts/{order_id}" if path.startswith("/receipts/") else "other"


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the app gets what arrived, its answer goes nowhere
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the already-read body, then defers to the server."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


SHUTTING_DOWN = "The service is restarting; retry the request."


def _late(seconds: float, *, body_received: bool) -> Response:
    if body_received:
        return error_response(503, f"The request did not finish within {seconds:g} s; retry it.")
    return error_response(408, f"The request body did not arrive within {seconds:g} s.")


def _too_large(limit: int) -> Response:
    return error_response(413, f"Request body exceeds {limit} bytes.")


def freeze_startup_objects() -> None:
    """Keep what startup built (schema, SQLAlchemy, modules) out of garbage collection.

    Python's full collection walks every tracked object: about 100,000 after
    startup, which stopped a worker for 50-75 ms, every request in flight
    with it, once every few thousand requests.  Those objects live as long
    as the process, so they are moved to the permanent generation
    (``gc.freeze``); a full collection then walks only what requests left
    behind (~1.5 ms measured).
    """
    gc.collect()
    gc.freeze()


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """``/metrics``: for anyone who reaches it, or only with ``token`` as a bearer token."""
    expected = f"Bearer {token}".encode() if token else None

    async def serve_metrics(request: Request) -> Response:
        if expected is not None:
            sent = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(sent, expected):
                return Response(
                    "metrics need METRICS_TOKEN as a bearer token\n", 401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )  # fmt: skip
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type)

    return serve_metrics


async def _sample_pools(sampler: metrics.PoolSampler) -> None:
    while True:
        sampler.sample()
        await asyncio.sleep(metrics.SAMPLE_SECONDS)


async def _close(state: Any, signing_keys: SigningKeys) -> None:
    """Stop the lifespan's background work, then close its connections."""
    if state.key_changes is not None:
        await state.key_changes.close()
    if state.request_limiter is not None:
        await state.request_limiter.close()
    await signing_keys.close()
    await state.numbering.close()  # before the pool it numbers with
    await state.driver_pool.close()
    await state.engine.dispose()


def create_app(
    settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None
) -> RequestContext:
    """``tracer_provider``: where spans go (tests); else from the ``OTEL_*`` variables, if
    they ask for traces (``app.tracing``)."""
    settings = settings or Settings.from_env()
    metrics.enable(settings.metrics)
    if tracer_provider is None and tracing.requested():
        tracer_provider = tracing.provider_from_env()
    traces = None if tracer_provider is None else tracing.Tracing(tracer_provider)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        engine = service_engine(settings)
        app.state.engine = engine
        app.state.driver_pool = pool = service_driver_pool(settings, engine)
        signing_keys = SigningKeys(
            pool,
            TokenPolicy(
                access_seconds=settings.access_token_seconds,
                rotation_seconds=settings.signing_key_rotation_seconds,
            ),
        )
        await signing_keys.start()
        app.state.authenticator = Authenticator(pool, settings.auth_cache_seconds, signing_keys)
        throttle = SignInThrottle(
            pool,
            SignInPolicy(
                attempts=settings.sign_in_attempts,
                window_seconds=settings.sign_in_window_seconds,
                lockout_seconds=settings.sign_in_lockout_seconds,
                max_lockout_seconds=settings.sign_in_max_lockout_seconds,
            ),
        )
        app.state.sessions = Sessions(
            engine, pool, signing_keys, throttle, session_seconds=settings.session_seconds
        )
        app.state.request_limiter = None
        if settings.rate_limit_requests > 0:
            app.state.request_limiter = RequestLimiter(
                pool,
                limit=settings.rate_limit_requests,
                window_seconds=settings.rate_limit_window_seconds,
                sync_seconds=settings.rate_limit_sync_seconds,
            )
            await app.state.request_limiter.start()
        app.state.receipt_links = ReceiptLinks(settings, app.state.driver_pool)
        app.state.numbering = Numbering(engine, pool)
        app.state.trust_forwarded_headers = settings.trust_forwarded_headers
        app.state.key_changes = None  # without a cache there is nothing to keep current
        if settings.auth_cache_seconds > 0:
            app.state.key_changes = KeyChangeListener(
                settings.listen_url(),
                app.state.authenticator,
                connect_timeout=settings.connect_timeout_seconds,
            )
            await app.state.key_changes.start()
        app.state.head_revision = head_revision()
        sampling = None
        if settings.metrics:
            sampler = metrics.PoolSampler(app.state.driver_pool, engine.pool)
            app.state.pool_sampler = sampler
            sampling = asyncio.create_task(_sample_pools(sampler))
        freeze_startup_objects()
        try:
            yield {}
        finally:
            if sampling is not None:
                sampling.cancel()
            if traces is not None:
                traces.close()
            await _close(app.state, signing_keys)

    schema = build_schema(
        fast_execution=settings.fast_execution, introspection=settings.introspection
    )
    graphql = GraphQLApp(schema, graphql_ide="graphiql" if settings.graphiql else None)
    app = Starlette(routes=_routes(settings, graphql), lifespan=lifespan)
    return RequestContext(
        app, settings.max_body_bytes, settings.request_deadline_seconds,
        cors_origins=settings.cors_origins,
        handler=None if traces is None else traces.wrap(app),
    )  # fmt: skip


def _routes(settings: Settings, graphql: GraphQLApp) -> list[Route]:
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/receipts/{order_id}", receipt_page),
        Route("/reports/{file}", report_file),
        Route("/customers/{customer_id}/{file}", statement_file),
    ]
    if settings.graphiql:
        graphql.ide_page = graphiql_page()
        routes.append(Route(f"{GRAPHIQL_ROUTE}{{path:path}}", asset_route()))
    if settings.metrics:
        routes.append(Route("/metrics", metrics_endpoint(settings.metrics_token)))
    return routes


def asgi() -> ASGIApp:
    """Uvicorn factory (``uvicorn --factory app.main:asgi``)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
