"""``/metrics`` counts what the service does, for whom it is meant, across workers; and
with tracing on, each request and each database call is a span."""

from __future__ import annotations

import glob
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from app import tracing
from app.config import Settings
from app.domain.identity import Role
from app.main import create_app
from app.services.rate_limits import ADD_COUNTS, PRUNE
from tests.conftest import new_tenant, post_graphql
from tests.e2e.test_workers import serving
from tests.helpers import make_customer, make_product
from tests.purchases import buy, pay

TOKEN = "scrape-me"


@asynccontextmanager
async def client(settings: Settings, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, **options)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return samples(answer.text)


@pytest.fixture
def metered(settings: Settings) -> Settings:
    return replace(settings, metrics=True, metrics_token=TOKEN)


async def test_metrics_count_operations_errors_latency_pools_and_sales(
    metered: Settings, owner_db: AsyncEngine
) -> None:
    async with client(metered) as http:
        tenant = await new_tenant(owner_db, http)
        customer = await make_customer(tenant, credit_limit="100.00")
        product = await make_product(tenant, price="10.00", stock=5)
        before = await scrape(http)

        assert (await buy(tenant, customer, [(product, 2)]))["__typename"] == "PurchaseCompleted"
        refused = await buy(tenant, customer, [(product, 50)])
        assert refused["__typename"] == "InsufficientStock"
        assert (await pay(tenant, customer, "5.00"))["__typename"] == "PaymentRecorded"
        named = "query Shop { viewer { role } }"
        await tenant.data(named)
        bad = await tenant.gql("query Broken { noSuchField }")
        assert bad["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        anonymous = await post_graphql(http, "{ viewer { role } }", token="cl_1_1_wrong")
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        after = await scrape(http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("credit_ledger_sales_total", outcome="Purchased") == 1
    assert grew("credit_ledger_sales_total", outcome="InsufficientStock") == 1
    assert grew("credit_ledger_payments_total", outcome="PaymentTaken") == 1
    assert grew("credit_ledger_graphql_operations_total",
                operation="Shop", type="query", result="ok") == 1  # fmt: skip
    assert grew("credit_ledger_graphql_operations_total",
                operation="Broken", type="query", result="error") == 1  # fmt: skip
    assert grew("credit_ledger_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert grew("credit_ledger_errors_total", code="UNAUTHENTICATED") == 1
    assert grew("credit_ledger_graphql_operation_duration_seconds_count", operation="Shop") == 1
    assert grew("credit_ledger_http_requests_total", route="/graphql", status="200") >= 6
    assert grew("credit_ledger_http_request_duration_seconds_count", route="/graphql") >= 6
    assert grew("credit_ledger_db_call_duration_seconds_count", kind="call") >= 3
    assert grew("credit_ledger_db_call_duration_seconds_bucket", kind="call", le="+Inf") >= 3
    assert value(after, "credit_ledger_db_pool_connections", pool="driver", state="open") >= 1


async def test_metrics_need_the_token_when_one_is_set(metered: Settings) -> None:
    async with client(metered) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await scrape(http)) != {}
    async with client(replace(metered, metrics_token=None)) as http:
        assert (await http.get("/metrics")).status_code == 200, "no token: anyone who reaches it"


async def test_without_metrics_there_is_no_metrics_route(settings: Settings) -> None:
    async with client(replace(settings, metrics=False)) as http:
        assert (await http.get("/metrics")).status_code == 404


def folders() -> set[str]:
    return set(glob.glob(f"{tempfile.gettempdir()}/credit-ledger-metrics-*"))


async def test_two_workers_are_counted_together_and_their_files_go_when_the_service_stops(
    database_url: str, owner_db: AsyncEngine, tmp_path: Path
) -> None:
    existing = folders()
    for service in serving(database_url, tmp_path, METRICS="on"):
        assert len(folders() - existing) == 1, "a fresh folder for this service's workers"
        base = f"http://{service.host}:{service.port}"
        requests = 20
        for _ in range(requests):  # a connection each: the parent deals them out in turn
            async with httpx.AsyncClient(base_url=base) as http:
                assert (await http.get("/healthz")).status_code == 200
        async with httpx.AsyncClient(base_url=base) as http:
            scraped = samples((await http.get("/metrics")).text)
        assert value(scraped, "credit_ledger_http_requests_total",
                     route="/healthz", status="200") == requests  # fmt: skip
        open_connections = value(
            scraped, "credit_ledger_db_pool_connections", pool="driver", state="open"
        )
        assert open_connections >= 2, "each worker opened its pool: the gauges add up"
    assert folders() == existing


async def test_each_request_and_each_database_call_is_a_span(
    settings: Settings, owner_db: AsyncEngine
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    async with client(settings, tracer_provider=provider) as http:
        tenant = await new_tenant(owner_db, http)
        customer = await make_customer(tenant)
        spans.clear()
        await tenant.data(
            "query One($id: ID!) { customer(id: $id) { name balance } }", {"id": customer},
            role=Role.VIEWER,
        )  # fmt: skip
    finished = spans.get_finished_spans()
    (request,) = [span for span in finished if span.kind is SpanKind.SERVER]
    assert request.name == "POST /graphql"
    assert request.attributes is not None
    assert request.attributes.get("http.response.status_code",
                                  request.attributes.get("http.status_code")) == 200  # fmt: skip
    calls = [span for span in finished if span.kind is SpanKind.CLIENT]
    assert calls, "database calls are spans"
    # Named when one is not, to tell a request's own call from a background one.  The
    # instrumentation is the process's: the session's app (``http``) adds up its rate
    # limit counts every second and prunes them every minute, in no request, and now
    # and then while this test's request runs.
    outside = [
        (call.name, dict(call.attributes or {}))
        for call in calls
        if call.parent is None
        and (call.attributes or {}).get("db.statement") not in {ADD_COUNTS, PRUNE}
    ]
    assert outside == [], "every database call is a child of the request's span"
    assert {call.parent.span_id for call in calls if call.parent} == {request.context.span_id}
    assert all(
        (call.attributes or {}).get("db.system", (call.attributes or {}).get("db.system.name"))
        == "postgresql"
        for call in calls
    )


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_the_standard_otel_variables_turn_traces_on(env: dict[str, str], on: bool) -> None:
    assert tracing.requested(env) is on
    if on:
        provider = tracing.provider_from_env(env)
        assert provider.resource.attributes["service.name"] == "credit-ledger"
        provider.shutdown()
