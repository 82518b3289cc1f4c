"""Production posture: who may introspect, GraphiQL, name suggestions, validation's error limit.

Each test serves the real app with the settings it is about (``INTROSPECTION``,
``GRAPHIQL``), and, where the execution engine could matter, once with it and once
on Strawberry's stock pipeline: the refusals happen in validation, before either runs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.domain.identity import Role
from app.graphql.validation import MAX_ERRORS
from app.main import create_app
from tests.conftest import Tenant, new_tenant, post_graphql
from tests.helpers import error_codes

ABORTED = "Too many validation errors, error limit reached. Validation aborted."
"""graphql-core's last error when validation stops at its error limit."""
INTROSPECTION = '{ __schema { queryType { name } } __type(name: "Customer") { name } }'
INTROSPECTED = {"__schema": {"queryType": {"name": "Query"}}, "__type": {"name": "Customer"}}
PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { __typename } }"


@pytest.fixture(scope="module", params=["public", "authenticated", "off"])
def policy(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=[True, False], ids=["fast", "stock"])
def fast(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(scope="module")
async def served(
    settings: Settings, owner_db: AsyncEngine, policy: str, fast: bool
) -> AsyncIterator[Tenant]:
    """A tenant of the service run with ``INTROSPECTION=policy``, engine on or off."""
    app = create_app(replace(settings, introspection=policy, fast_execution=fast))
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield await new_tenant(owner_db, client)


async def ask(tenant: Tenant, caller: str, query: str, **variables: Any) -> dict[str, Any]:
    """``caller``: ``none`` (no key), ``bad`` (an unknown key) or a role."""
    unkeyed = {"none": None, "bad": "cl_1_1_not-a-secret"}
    token = unkeyed[caller] if caller in unkeyed else tenant.keys[Role(caller)]
    return await post_graphql(tenant.http, query, variables, token=token)


# --- Settings -----------------------------------------------------------------------


def test_the_settings_default_to_keyed_introspection_and_no_graphiql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INTROSPECTION", raising=False)
    monkeypatch.delenv("GRAPHIQL", raising=False)
    settings = Settings.from_env()
    assert (settings.introspection, settings.graphiql) == ("authenticated", False)

    monkeypatch.setenv("INTROSPECTION", "Public")
    monkeypatch.setenv("GRAPHIQL", "on")
    settings = Settings.from_env()
    assert (settings.introspection, settings.graphiql) == ("public", True)

    for name, value in (("INTROSPECTION", "anonymous"), ("GRAPHIQL", "yes")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name):
            Settings.from_env()
        monkeypatch.delenv(name)


# --- Introspection --------------------------------------------------------------------


def allowed(policy: str, caller: str) -> bool:
    return policy == "public" or (policy == "authenticated" and caller not in ("none", "bad"))


@pytest.mark.parametrize("caller", ["none", "bad", "viewer", "owner"])
async def test_introspection_answers_as_the_policy_says(
    served: Tenant, policy: str, caller: str
) -> None:
    answer = await ask(served, caller, INTROSPECTION)
    if allowed(policy, caller):
        assert answer == {"data": INTROSPECTED}
    elif policy == "authenticated":
        assert answer["data"] is None
        assert error_codes(answer) == ["UNAUTHENTICATED", "UNAUTHENTICATED"]
        assert "needs an API key" in answer["errors"][0]["message"]
    else:
        assert answer["data"] is None
        assert set(error_codes(answer)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection has been disabled" in answer["errors"][0]["message"]


@pytest.mark.parametrize("caller", ["none", "viewer"])
async def test_typename_is_never_introspection(served: Tenant, caller: str) -> None:
    answer = await ask(served, caller, "{ __typename }")
    assert answer == {"data": {"__typename": "Query"}}


async def test_keyed_and_anonymous_requests_of_one_text_never_share_a_validation(
    served: Tenant, policy: str
) -> None:
    """Validation is cached per text: the caller must be part of what it is cached by."""
    for _ in range(2):
        for caller in ("none", "owner", "none"):
            answer = await ask(served, caller, INTROSPECTION)
            assert (answer["data"] == INTROSPECTED) is allowed(policy, caller), (caller, answer)


async def test_graphiqls_own_introspection_query_works_with_a_key(
    served: Tenant, policy: str
) -> None:
    answer = await ask(served, "owner", get_introspection_query(descriptions=True))
    if policy == "off":
        assert error_codes(answer)[-1] == "GRAPHQL_VALIDATION_FAILED"
    else:
        assert "errors" not in answer, answer["errors"][:1]
        assert answer["data"]["__schema"]["queryType"]["name"] == "Query"


# --- Suggestions ----------------------------------------------------------------------

SUGGESTED = [
    # (query, variables, graphql-core's message with its suggestion)
    ("{ viewr { role } }", {},
     "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer'?"),
    ('{ customer(idd: "1") { name } }', {},
     "Unknown argument 'idd' on field 'Query.customer'. Did you mean 'id'?"),
    ("query($x: Strin) { viewer { role } }", {}, "Unknown type 'Strin'. Did you mean 'String'?"),
    (PAYMENT,
     {"input": {"customerId": "1", "amount": "5", "method": "CASHH", "idempotencyKey": "k"}},
     "Variable '$input' has invalid value at .method: Value 'CASHH' does not exist in"
     " 'PaymentMethod' enum. Did you mean the enum value 'CASH' or 'CARD'?"),
    (PAYMENT, {"input": {"customerId": "1", "amount": "5", "amont": "5", "method": "CASH",
                         "idempotencyKey": "k"}},
     "Variable '$input' has invalid value: Expected value of type 'RecordPaymentInput' not to"
     " include unknown field 'amont'. Did you mean 'amount'? Found: {'customerId': '1',"
     " 'amount': '5', 'amont': '5', 'method': 'CASH', 'idempotencyKey': 'k'}."),
]  # fmt: skip


@pytest.mark.parametrize(("query", "variables", "suggested"), SUGGESTED)
async def test_names_are_suggested_only_when_introspection_is_public(
    served: Tenant, policy: str, query: str, variables: dict[str, Any], suggested: str
) -> None:
    """The exact messages with suggestions are graphql-core's: if its wording changes,
    the public case fails here, and ``app.graphql.errors.SUGGESTION`` needs a look."""
    answer = await ask(served, "owner", query, **variables)
    messages = [error["message"] for error in answer["errors"]]
    if policy == "public":
        assert suggested in messages
    else:
        before, _, after = suggested.partition(" Did you mean ")
        assert before + after[after.index("?") + 1 :] in messages
        assert "Did you mean" not in orjson.dumps(answer).decode()


# --- Validation's error limit ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ viewer " + "@nope " * 500 + "{ role } }", id="500 unknown directives"),
        pytest.param(
            "{ viewer " + "@skip(if: false) " * 250 + "{ role } }", id="250 repeated directives"
        ),
        pytest.param("{ " + " ".join(f"f{n}" for n in range(140)) + " }", id="140 unknown fields"),
    ],
)
async def test_validation_stops_after_a_few_errors(served: Tenant, query: str) -> None:
    started = time.perf_counter()
    answer = await ask(served, "owner", query)
    assert time.perf_counter() - started < 1.0
    assert len(answer["errors"]) == MAX_ERRORS + 1
    assert answer["errors"][-1]["message"] == ABORTED
    assert set(error_codes(answer)) == {"GRAPHQL_VALIDATION_FAILED"}


# --- GraphiQL -------------------------------------------------------------------------


@pytest.mark.parametrize("graphiql", [True, False], ids=["on", "off"])
async def test_graphiql_is_served_only_when_on(settings: Settings, graphiql: bool) -> None:
    app = create_app(replace(settings, graphiql=graphiql))
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            page = await client.get("/graphql", headers={"Accept": "text/html"})
            by_get = await client.get("/graphql", params={"query": "{ __typename }"})
    assert by_get.json() == {"data": {"__typename": "Query"}}
    if graphiql:
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        return
    assert page.status_code == 404
    assert page.headers["content-type"] == "application/json; charset=utf-8"
    assert page.json() == {
        "errors": [{"message": "Not Found", "extensions": {"code": "BAD_USER_INPUT"}}]
    }
