"""GraphQL over HTTP to the letter: both media types, their status codes, and the
community's audit of the specification (graphql-http's ``auditServer``) run against
the service as a real process on a TCP port.

``application/graphql-response+json`` answers a request that never executed with 400
and no ``data``; ``application/json`` answers every well-formed request 200, as
before.  The Node project in ``tests/http_audit`` pins the audit; ``make http-audit``
(a prerequisite of ``make test``) installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import PROJECT_ROOT, Settings
from app.domain.identity import Role
from app.graphql.limits import MAX_ALIASES
from app.main import create_app
from bench.service import Service
from tests.conftest import Tenant

AUDIT = PROJECT_ROOT / "tests" / "http_audit"
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

ALIASES = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))

NEVER_EXECUTED: dict[str, tuple[dict[str, Any], str]] = {
    "does not parse": ({"query": "{ viewer {"}, "GRAPHQL_PARSE_FAILED"),
    "is not valid": ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    "is over a limit": ({"query": f"{{ {ALIASES} }}"}, "QUERY_TOO_COMPLEX"),
    "variables do not coerce": (
        {"query": "query($f: Int!) { customers(first: $f) { edges { cursor } } }",
         "variables": {"f": "ten"}},
        "BAD_USER_INPUT",
    ),
    "no operation chosen": ({"query": "query A { __typename } query B { __typename }"},
                            "BAD_USER_INPUT"),
}  # fmt: skip


async def _post(tenant: Tenant, body: dict[str, Any], accept: str | None) -> httpx.Response:
    """POST ``body`` as the owner with this ``Accept``, or with none (httpx sends ``*/*``)."""
    headers = {"Authorization": f"Bearer {tenant.keys[Role.OWNER]}"}
    request = tenant.http.build_request("POST", "/graphql", json=body, headers=headers)
    if accept is None:
        del request.headers["Accept"]
    else:
        request.headers["Accept"] = accept
    return await tenant.http.send(request)


@pytest.mark.parametrize("case", NEVER_EXECUTED)
async def test_a_request_that_never_executed_is_400_without_data_in_graphql_response_json(
    tenant: Tenant, case: str
) -> None:
    body, code = NEVER_EXECUTED[case]
    response = await _post(tenant, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    answer = response.json()
    assert "data" not in answer, answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


@pytest.mark.parametrize("case", NEVER_EXECUTED)
async def test_the_same_request_is_200_with_null_data_in_plain_json(
    tenant: Tenant, case: str
) -> None:
    body, code = NEVER_EXECUTED[case]
    response = await _post(tenant, body, JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{JSON}; charset=utf-8"
    answer = response.json()
    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


async def test_an_executed_request_with_field_errors_is_200_in_graphql_response_json(
    http: httpx.AsyncClient,
) -> None:
    """No key: ``viewer`` fails with UNAUTHENTICATED and nulls ``data``, but it ran."""
    response = await http.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    answer = response.json()
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


ACCEPT = {
    None: JSON,  # the specification's default for legacy clients, and the audit's
    "*/*": JSON,
    "application/*": JSON,
    JSON: JSON,
    GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
    "Application/GraphQL-Response+JSON": GRAPHQL_RESPONSE,
    f"{GRAPHQL_RESPONSE}, {JSON}": GRAPHQL_RESPONSE,  # graphql-http's and urql's clients
    f"{JSON}, {GRAPHQL_RESPONSE}": GRAPHQL_RESPONSE,
    f"{GRAPHQL_RESPONSE}, {JSON};q=0.9": GRAPHQL_RESPONSE,  # Apollo Client's
    f"{JSON}, {GRAPHQL_RESPONSE};q=0.9": JSON,
    f"{GRAPHQL_RESPONSE};q=0.5, */*": JSON,
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": JSON,  # a browser's
    "text/plain": None,
    f"{JSON};q=0": None,
    "not a media type": None,
}


@pytest.mark.parametrize("accept", ACCEPT)
async def test_accept_chooses_the_media_type_or_406(tenant: Tenant, accept: str | None) -> None:
    expected = ACCEPT[accept]
    response = await _post(tenant, {"query": "{ viewer { role } }"}, accept)
    if expected is None:
        assert response.status_code == 406, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        return
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json() == {"data": {"viewer": {"role": "OWNER"}}}


async def test_a_mutation_that_accepts_no_json_answer_is_not_run(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    """406 stops the request before anything is executed."""
    mutation = 'mutation { createCustomer(input: {name: "A", creditLimit: "1"}) { __typename } }'
    response = await _post(tenant, {"query": mutation}, "text/plain")
    assert response.status_code == 406
    async with owner_db.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM customers WHERE business_id = :b"), {"b": tenant.id}
        )
    assert count == 0


@pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml,*/*;q=0.8"])
async def test_graphiql_still_opens_in_a_browser(settings: Settings, accept: str) -> None:
    app = create_app(replace(settings, graphiql=True))
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/graphql", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("name", [{"obj": "ect"}, ["array"], 0, False])
@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_an_operation_name_that_is_not_a_string_is_400(
    tenant: Tenant, name: object, accept: str
) -> None:
    response = await _post(tenant, {"query": "{ __typename }", "operationName": name}, accept)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`operationName` must be a string or null" in error["message"]


# --- graphql-http's audit ----------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    """Node.js with the pinned audit installed; CI must have both."""
    found = shutil.which("node")
    if found is None or not (AUDIT / "node_modules" / "graphql-http").is_dir():
        reason = "Node.js or graphql-http missing: `make http-audit` (npm ci) installs the audit"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def test_the_graphql_over_http_audit_passes_every_check(
    node: str, database_url: str, tmp_path: Path
) -> None:
    service = Service(
        database_url, workers=1, log_path=tmp_path / "service.log", log_level="WARNING"
    )
    service.start()
    try:
        run = subprocess.run(  # noqa: S603 (our own script, a URL we made)
            [node, str(AUDIT / "audit.mjs"), f"http://{service.host}:{service.port}/graphql"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        service.stop()
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert len(results) > 50, results  # the audit ran, not an empty list
    failed = [f"{r['id']} {r['status']}: {r['name']} ({r['reason']})"
              for r in results if r["status"] != "ok"]  # fmt: skip
    assert not failed, "\n".join(failed)
