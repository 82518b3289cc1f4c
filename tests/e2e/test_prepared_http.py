"""The direct HTTP path for prepared texts answers byte for byte as Strawberry's view.

The first request with a fresh text goes through Starlette and Strawberry's view
(and prepares the text); the same request again takes ``GraphQLApp.answer_prepared``.
Each test compares the two whole HTTP answers, and counts which path ran.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from app.domain.identity import Role
from app.graphql.http import GraphQLApp
from tests.conftest import Tenant
from tests.helpers import CUSTOMER, make_customer


def unique(query: str) -> str:
    return f"# {uuid.uuid4()}\n{query}"


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The query texts answered by the direct path while the test runs."""
    answered: list[str] = []
    answer = GraphQLApp.answer_prepared

    async def counting(self: GraphQLApp, scope: Any, data: dict[str, Any], send: Any) -> None:
        answered.append(data["query"])
        await answer(self, scope, data, send)

    monkeypatch.setattr(GraphQLApp, "answer_prepared", counting)
    return answered


def shape(response: httpx.Response) -> tuple[int, str | None, str | None, bytes]:
    return (
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("content-length"),
        response.content,
    )


async def twice(
    http: httpx.AsyncClient, body: Any, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    return [await http.post("/graphql", json=body, headers=headers or {}) for _ in range(2)]


def bearer(tenant: Tenant, role: Role = Role.OWNER) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.keys[role]}"}


async def test_a_repeated_query_takes_the_direct_path_and_answers_the_same(
    tenant: Tenant, direct: list[str]
) -> None:
    customer = await make_customer(tenant, name="Meera")
    direct.clear()
    query = unique(CUSTOMER)
    first, second = await twice(
        tenant.http, {"query": query, "variables": {"id": customer}}, bearer(tenant)
    )
    assert direct == [query]
    assert shape(first) == shape(second)
    assert first.json()["data"]["customer"]["name"] == "Meera"
    assert second.headers["x-request-id"]


@pytest.mark.parametrize(
    ("headers", "variables"),
    [
        pytest.param({}, {}, id="no key: UNAUTHENTICATED"),
        pytest.param({"Authorization": "Bearer cl_1_1_wrong"}, {}, id="unknown key"),
        pytest.param(None, {"id": True}, id="variable of the wrong type"),
        pytest.param(None, {}, id="missing variable"),
    ],
)
async def test_errors_are_the_same_on_both_paths(
    tenant: Tenant, direct: list[str], headers: dict[str, str] | None, variables: dict[str, Any]
) -> None:
    query = unique(CUSTOMER)
    answers = await twice(
        tenant.http,
        {"query": query, "variables": variables},
        bearer(tenant, Role.VIEWER) if headers is None else headers,
    )
    assert direct == [query]
    assert shape(answers[0]) == shape(answers[1])
    assert answers[0].json()["errors"]


async def test_a_role_too_weak_is_refused_on_the_direct_path(
    tenant: Tenant, direct: list[str]
) -> None:
    query = unique('mutation { createCustomer(input: {name: "X"}) { __typename } }')
    viewer, again = await twice(tenant.http, {"query": query}, bearer(tenant, Role.VIEWER))
    assert direct == [query]
    assert shape(viewer) == shape(again)
    assert viewer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("accept", ["text/event-stream", "multipart/mixed", "application/json"])
async def test_an_accept_header_is_answered_as_strawberry_answers_it(
    tenant: Tenant, direct: list[str], accept: str
) -> None:
    # No stream transport is enabled, so Strawberry answers one JSON document too;
    # were one enabled, such a request would not take the direct path.
    query = unique("{ viewer { role } }")
    first, second = await twice(tenant.http, {"query": query}, {**bearer(tenant), "Accept": accept})
    assert direct == [query]
    assert shape(first) == shape(second)


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        pytest.param({"variables": [1]}, 400, id="variables that are not an object"),
        pytest.param({"extensions": {"x": 1}}, 200, id="request extensions"),
    ],
)
async def test_other_requests_go_through_strawberry(
    tenant: Tenant, direct: list[str], extra: dict[str, Any], status: int
) -> None:
    query = unique("{ viewer { role } }")
    await tenant.gql(query)  # prepared
    direct.clear()
    response = await tenant.http.post(
        "/graphql", json={"query": query, **extra}, headers=bearer(tenant)
    )
    assert direct == []
    assert response.status_code == status


async def test_a_body_that_is_not_json_goes_through_strawberry(
    tenant: Tenant, direct: list[str]
) -> None:
    query = unique("{ viewer { role } }")
    await tenant.gql(query)
    direct.clear()
    response = await tenant.http.post(
        "/graphql",
        content=b'{"query": ' + query.encode() + b"}",
        headers={**bearer(tenant), "Content-Type": "application/json"},
    )
    assert direct == []
    assert response.status_code == 400
    assert response.text == "Unable to parse request body as JSON"


async def test_a_get_request_never_takes_the_direct_path(tenant: Tenant, direct: list[str]) -> None:
    query = unique("{ viewer { role } }")
    await tenant.gql(query)
    response = await tenant.http.get("/graphql", params={"query": query}, headers=bearer(tenant))
    assert response.json() == {"data": {"viewer": {"role": "OWNER"}}}
    assert direct == []
