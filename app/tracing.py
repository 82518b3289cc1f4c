"""OpenTelemetry traces, when the standard ``OTEL_*`` variables ask for them.

Traces are on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``)
or, without it, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; ``OTEL_SDK_DISABLED=true`` turns them
off.  The SDK then reads the rest itself: ``OTEL_SERVICE_NAME`` (default here:
``credit-ledger``), ``OTEL_RESOURCE_ATTRIBUTES``, the sampler (``OTEL_TRACES_SAMPLER``),
the OTLP endpoint, headers and timeouts (``OTEL_EXPORTER_OTLP_*``, HTTP/protobuf),
the batching (``OTEL_BSP_*``).

Each request gets a span (OpenTelemetry's ASGI middleware, without its spans for
every body chunk), and each database call a child span (the asyncpg
instrumentation, which sees both the hot paths' driver pool and SQLAlchemy's, since
both speak through asyncpg).  Off, nothing is installed: the hot path pays nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from starlette.types import ASGIApp

SERVICE = "credit-ledger"


def requested(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER")
    if exporters is not None:
        return exporters.strip().lower() not in ("", "none")
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER: {name!r} is not one of otlp, console")


def provider_from_env(env: Mapping[str, str] = os.environ) -> TracerProvider:
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: SERVICE}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in (env.get("OTEL_TRACES_EXPORTER") or "otlp").split(","):
        provider.add_span_processor(BatchSpanProcessor(_exporter(name.strip().lower())))
    return provider


class Tracing:
    """Spans for requests and database calls, sent to ``provider``'s processors."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with a span per request; database calls traced from now on."""
        if not self._asyncpg.is_instrumented_by_opentelemetry:
            self._asyncpg.instrument(tracer_provider=self.provider)
        traced: Any = OpenTelemetryMiddleware(
            app, tracer_provider=self.provider, exclude_spans=["receive", "send"]
        )
        return traced  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop tracing database calls; send what is still buffered."""
        if self._asyncpg.is_instrumented_by_opentelemetry:
            self._asyncpg.uninstrument()
        self.provider.shutdown()
