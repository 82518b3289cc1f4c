"""A request sent again is answered as the first time: caches and plans change nothing.

Each test makes its query text unique (a comment with a fresh id), so the first
request is known to be the text's first, whatever ran before in the session.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.e2e.test_protection import break_customer_lookup
from tests.helpers import CREATE_CUSTOMER, CUSTOMER, error_codes, make_customer


def unique(query: str) -> str:
    return f"# {uuid.uuid4()}\n{query}"


async def twice(tenant: Tenant, query: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers to the same request sent twice."""
    return [await tenant.gql(query, variables) for _ in range(2)]


async def test_a_repeated_query_answers_exactly_as_the_first_time(tenant: Tenant) -> None:
    customer = await make_customer(tenant, name="Asha")
    first, second = await twice(tenant, unique(CUSTOMER), {"id": customer})
    assert first == second
    assert first["data"]["customer"]["name"] == "Asha"


async def test_a_repeated_mutation_runs_each_time(tenant: Tenant) -> None:
    query = unique(CREATE_CUSTOMER)
    first, second = await twice(tenant, query, {"input": {"name": "Ravi"}})
    ids = {answer["data"]["createCustomer"]["customer"]["id"] for answer in (first, second)}
    assert len(ids) == 2, "the mutation ran again"


async def test_variable_errors_are_the_same_when_repeated(tenant: Tenant) -> None:
    query = unique(CUSTOMER)
    await tenant.gql(query, {"id": "1"})
    repeated = await tenant.gql(query, {"id": None})
    fresh = await tenant.gql(unique(CUSTOMER), {"id": None})
    assert repeated == fresh
    assert repeated["data"] is None
    assert "$id" in repeated["errors"][0]["message"]


async def test_an_invalid_document_answers_the_same_each_time(tenant: Tenant) -> None:
    query = unique("{ viewer { noSuchField } }")
    answers = [await tenant.gql(query) for _ in range(2)]
    assert answers[0] == answers[1]
    assert "noSuchField" in answers[0]["errors"][0]["message"]


@pytest.mark.internal_error
async def test_unexpected_errors_are_masked_when_repeated(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_customer(tenant)
    break_customer_lookup(monkeypatch)
    first, second = await twice(tenant, unique(CUSTOMER), {"id": customer})
    for answer in (first, second):
        assert answer["data"] == {"customer": None}
        assert error_codes(answer) == ["INTERNAL_SERVER_ERROR"]
        assert "hunter2" not in str(answer)


async def test_a_repeated_mutation_is_still_refused_over_get(tenant: Tenant) -> None:
    async def over_get(query: str) -> tuple[int, str]:
        response = await tenant.http.get(
            "/graphql",
            params={"query": query, "variables": '{"input": {"name": "Over GET"}}'},
            headers={"Authorization": f"Bearer {tenant.keys[Role.OWNER]}"},
        )
        return response.status_code, response.text

    query = unique(CREATE_CUSTOMER)
    await tenant.gql(query, {"input": {"name": "Meena"}})
    status, text = await over_get(query)
    assert (status, text) == await over_get(unique(CREATE_CUSTOMER))
    assert status == 400
    assert "mutations are not allowed" in text.lower()


async def test_the_caller_is_checked_when_repeated(tenant: Tenant) -> None:
    """Permissions are per field and per request: a viewer cannot reuse an owner's text."""
    query = unique(CREATE_CUSTOMER)
    await tenant.gql(query, {"input": {"name": "Owner's"}})
    answer = await tenant.gql(query, {"input": {"name": "Viewer's"}}, role=Role.VIEWER)
    assert answer["data"] is None
    assert error_codes(answer) == ["FORBIDDEN"]
    names = await tenant.gql("{ customers(first: 10) { edges { node { name } } } }")
    assert [e["node"]["name"] for e in names["data"]["customers"]["edges"]] == ["Owner's"]


PAGE = """
query($first: Int!) {
  customers(first: $first) {
    edges { cursor node {
      id name balance availableCredit
      overdue { isOverdue overdueAmount oldestUnpaidAt daysOverdue }
      later: overdue(asOf: "2999-01-01T00:00:00Z") { isOverdue daysOverdue }
      ledger(first: 2) { edges { node { kind amount } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_a_repeated_page_answers_as_the_first_time(
    tenant: Tenant,
) -> None:
    for name in ("Anil", "Bela", "Chitra"):
        await make_customer(tenant, name=name)
    query = unique(PAGE)
    first, second = await twice(tenant, query, {"first": 2})
    assert first == second
    assert [e["node"]["name"] for e in first["data"]["customers"]["edges"]] == ["Anil", "Bela"]


async def test_a_repeated_page_with_an_error_answers_as_the_first_time(tenant: Tenant) -> None:
    query = unique(PAGE)
    first, second = await twice(tenant, query, {"first": 1000})
    assert first == second
    assert error_codes(first) == ["BAD_USER_INPUT"]
