"""Protection against abusive requests and leaks, and the health endpoints."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from graphql import get_introspection_query

from app.config import Settings
from app.db.migrations import head_revision
from app.domain.identity import Role
from app.graphql.limits import LIMIT_RULES, MAX_ALIASES, MAX_DEPTH, MAX_FIELDS, MAX_TOKENS
from app.graphql.schema import schema
from app.logs import JsonFormatter
from app.main import create_app
from app.services import customers
from tests.conftest import Tenant, post_graphql
from tests.helpers import CUSTOMER, VIEWER, error_codes, make_customer


def _bearer(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.keys[Role.OWNER]}"}


# --- Request body size --------------------------------------------------------------


def _padded_body(size: int) -> bytes:
    """A valid request of about ``size`` bytes (an unused variable carries the padding)."""
    return orjson.dumps({"query": VIEWER, "variables": {"pad": "x" * size}})


async def test_a_body_over_the_limit_gets_413(settings: Settings, tenant: Tenant) -> None:
    response = await tenant.http.post(
        "/graphql", content=_padded_body(settings.max_body_bytes + 1), headers=_bearer(tenant)
    )
    assert response.status_code == 413
    assert "exceeds" in response.json()["errors"][0]["message"]
    assert response.headers["x-request-id"]


async def test_a_body_over_the_limit_without_a_length_gets_413(
    settings: Settings, tenant: Tenant
) -> None:
    """Chunked upload: the size is only known while reading."""
    body = _padded_body(settings.max_body_bytes + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    response = await tenant.http.post("/graphql", content=chunks(), headers=_bearer(tenant))
    assert response.status_code == 413
    assert "exceeds" in response.json()["errors"][0]["message"]


async def test_a_body_under_the_limit_is_served(settings: Settings, tenant: Tenant) -> None:
    body = _padded_body(settings.max_body_bytes - 1_000)

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:1000]
        yield body[1000:]

    for content in (body, chunks()):
        response = await tenant.http.post(
            "/graphql", content=content,
            headers={**_bearer(tenant), "Content-Type": "application/json"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["data"]["viewer"]["role"] == "OWNER"


@pytest.mark.parametrize("body", [b"null", b'"query"', b"5", b"true"])
async def test_a_json_body_that_is_not_a_request_gets_400(tenant: Tenant, body: bytes) -> None:
    response = await tenant.http.post(
        "/graphql", content=body, headers={**_bearer(tenant), "Content-Type": "application/json"}
    )
    assert response.status_code == 400


# --- Query shape limits -------------------------------------------------------------


def _nested(levels: int) -> str:
    """A selection ``levels`` fields deep (the fields need not exist: depth is checked first)."""
    return "{ " + "a { " * (levels - 1) + "a" + " }" * (levels - 1) + " }"


async def _refusals(tenant: Tenant, query: str) -> list[str]:
    answer = await tenant.gql(query)
    return [error["message"] for error in answer.get("errors", [])]


async def test_a_query_deeper_than_the_limit_is_refused(tenant: Tenant) -> None:
    # Depth counts edges from the root: MAX_DEPTH + 1 levels of fields is the deepest allowed.
    allowed = await _refusals(tenant, _nested(MAX_DEPTH + 1))
    refused = await _refusals(tenant, _nested(MAX_DEPTH + 2))
    assert not any("depth" in message for message in allowed)
    assert f"exceeds maximum operation depth of {MAX_DEPTH}" in " ".join(refused)


async def test_a_query_with_too_many_aliases_is_refused(tenant: Tenant) -> None:
    def aliased(count: int) -> str:
        return "{ " + " ".join(f"v{n}: viewer {{ role }}" for n in range(count)) + " }"

    answer = await tenant.gql(aliased(MAX_ALIASES))
    assert "errors" not in answer, answer
    assert len(answer["data"]) == MAX_ALIASES

    answer = await tenant.gql(aliased(MAX_ALIASES + 1))
    assert answer.get("data") is None
    assert "alias" in answer["errors"][0]["message"]


async def test_a_query_with_too_many_tokens_is_refused(tenant: Tenant) -> None:
    def padded(tokens: int) -> str:
        return "{ viewer { " + "__typename " * (tokens - 5) + "} }"  # 5 tokens around them

    allowed = await _refusals(tenant, padded(MAX_TOKENS))
    assert not any("tokens" in message for message in allowed)

    answer = await tenant.gql(padded(MAX_TOKENS + 1))
    assert answer.get("data") is None
    assert f"more than {MAX_TOKENS} tokens" in answer["errors"][0]["message"]


async def test_a_query_with_too_many_fields_is_refused_before_costly_validation(
    tenant: Tenant,
) -> None:
    def fields(count: int) -> str:
        return "{ viewer { " + "__typename " * (count - 1) + "} }"

    answer = await tenant.gql(fields(MAX_FIELDS))
    assert "errors" not in answer, answer

    answer = await tenant.gql(fields(MAX_FIELDS + 1))
    assert answer.get("data") is None
    assert f"at most {MAX_FIELDS} are allowed" in answer["errors"][0]["message"]

    # Under the token limit, yet this took about 3 s of CPU to validate before the
    # field limit existed: the overlapping-fields rule compares repeats pairwise.
    repeats = "{ " + "viewer { role } " * 498 + "}"
    started = time.perf_counter()
    answer = await post_graphql(tenant.http, repeats)
    assert time.perf_counter() - started < 1.0
    assert "are allowed" in answer["errors"][0]["message"]


def test_each_request_gets_its_own_extension_instances() -> None:
    """Strawberry stores a request's execution context on the extension instance."""
    first, second = schema.get_extensions(), schema.get_extensions()
    assert len(first) == len(second)
    assert all(a is not b for a, b in zip(first, second, strict=True))


async def test_a_repeated_query_is_validated_only_once(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The abuse limits must not defeat the validation cache."""
    depth_rule = LIMIT_RULES[0]
    validations = 0
    original_init = depth_rule.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal validations
        validations += 1
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(depth_rule, "__init__", counting_init)
    query = f"query Once{uuid.uuid4().hex} {{ viewer {{ role }} }}"
    for _ in range(3):
        answer = await tenant.gql(query)
        assert "errors" not in answer, answer
    assert validations == 1


# --- Unexpected errors --------------------------------------------------------------


class _Formatted(logging.Handler):
    """Formats each record as it is emitted, while the request's context is current."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))


@pytest.fixture
def graphql_log() -> Iterator[_Formatted]:
    handler = _Formatted()
    logger = logging.getLogger("credit_ledger.graphql")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def break_customer_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the customer lookup fail the way a bug would.

    Every input we found that crashed the service is now answered properly, so the
    failure is injected: the service function raises inside the resolver.  The
    database is not faked; the rest of the request runs for real.
    """

    async def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internal detail: password=hunter2")

    monkeypatch.setattr(customers, "read_customers", crash)


@pytest.mark.internal_error
async def test_an_unexpected_error_is_masked_and_logged_with_the_request_id(
    tenant: Tenant, graphql_log: _Formatted, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_customer(tenant)
    break_customer_lookup(monkeypatch)
    response = await tenant.http.post(
        "/graphql", json={"query": CUSTOMER, "variables": {"id": customer}},
        headers=_bearer(tenant),
    )  # fmt: skip
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    answer = response.json()
    assert answer["data"] == {"customer": None}
    assert error_codes(answer) == ["INTERNAL_SERVER_ERROR"]
    error = answer["errors"][0]
    assert request_id in error["message"]
    assert error["extensions"]["requestId"] == request_id
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text

    logged = [line for line in graphql_log.lines if line["request_id"] == request_id]
    assert len(logged) == 1
    assert logged[0]["level"] == "error"
    assert "hunter2" in logged[0]["exc"]


@pytest.mark.internal_error
async def test_a_request_id_sent_by_the_client_is_the_one_quoted(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_customer(tenant)
    break_customer_lookup(monkeypatch)
    response = await tenant.http.post(
        "/graphql", json={"query": CUSTOMER, "variables": {"id": customer}},
        headers={**_bearer(tenant), "X-Request-Id": "trace-abc-123"},
    )  # fmt: skip
    assert response.headers["x-request-id"] == "trace-abc-123"
    assert "trace-abc-123" in response.json()["errors"][0]["message"]


# --- Health -------------------------------------------------------------------------


async def test_healthz_answers_while_the_process_is_up(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_with_the_migrated_revision(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}
    assert head_revision() is not None


# --- Garbage collection -----------------------------------------------------------


async def test_startup_leaves_what_it_built_out_of_garbage_collection(settings: Settings) -> None:
    """A full collection then walks only what requests leave behind, not ~100,000 objects."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        assert gc.get_freeze_count() > 50_000  # the schema, SQLAlchemy, the modules
        tracked = len(gc.get_objects())
        assert tracked < gc.get_freeze_count() / 5, (tracked, gc.get_freeze_count())


def _bomb(fragments: int) -> str:
    """Each fragment spreads the next one twice: 2**fragments copies of the last one."""
    chain = [f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }}" for n in range(fragments)]
    return (
        "{ ...F0 } " + " ".join(chain) + f" fragment F{fragments} on Query {{ viewer {{ role }} }}"
    )


async def test_a_fragment_bomb_is_refused_in_time_that_stays_flat(tenant: Tenant) -> None:
    took = {}
    for fragments in (8, 12, 24, 48):
        started = time.perf_counter()
        answer = await tenant.gql(_bomb(fragments))
        took[fragments] = time.perf_counter() - started
        if fragments == 8:  # 512 copies of two fields: within the limit, and merged
            assert answer == {"data": {"viewer": {"role": "OWNER"}}}
        else:
            assert error_codes(answer) == ["QUERY_TOO_COMPLEX"], answer
            assert answer["errors"][0]["extensions"]["limit"] == "fields"
            assert "once its fragments are spread" in answer["errors"][0]["message"]
    assert took[48] < 0.5, took
    assert took[48] < 4 * took[12] + 0.05, took


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        pytest.param(_nested(MAX_DEPTH + 2), "depth", id="depth"),
        pytest.param(
            "{ " + " ".join(f"v{n}: viewer {{ role }}" for n in range(31)) + " }",
            "aliases",
            id="aliases",
        ),
        pytest.param("{ viewer { " + "__typename " * MAX_FIELDS + "} }", "fields", id="fields"),
    ],
)
async def test_every_limit_answers_query_too_complex_naming_it(
    tenant: Tenant, query: str, limit: str
) -> None:
    answer = await tenant.gql(query)
    assert answer["data"] is None
    assert error_codes(answer) == ["QUERY_TOO_COMPLEX"]
    assert answer["errors"][0]["extensions"]["limit"] == limit


async def test_too_many_tokens_answers_query_too_complex(tenant: Tenant) -> None:
    answer = await tenant.gql("{ viewer { " + "__typename " * MAX_TOKENS + "} }")
    assert error_codes(answer) == ["QUERY_TOO_COMPLEX"]


async def test_graphiqls_introspection_query_is_within_the_limits(tenant: Tenant) -> None:
    answer = await tenant.gql(get_introspection_query(descriptions=True))
    assert "errors" not in answer, answer["errors"][:1]
    assert answer["data"]["__schema"]["queryType"]["name"] == "Query"
