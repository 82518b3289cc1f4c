"""Every error names its kind in ``extensions.code``; a client's mistake is never internal.

The codes are documented in ``app/graphql/errors.py``: a document that is not
GraphQL, one that is not valid, and input the client can correct (custom scalar
literals that do not parse, variables that do not coerce, the operation name).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from app.graphql.customers import CURSOR_KIND as CUSTOMERS
from app.graphql.overdue import CURSOR_KIND as OVERDUE
from tests.conftest import Tenant
from tests.helpers import error_codes

CREATE = 'mutation { createCustomer(input: {name: "A", creditLimit: %s}) { __typename } }'
CREATE_WITH = (
    'mutation($m: Money) { createCustomer(input: {name: "A", creditLimit: $m}) { __typename } }'
)
OVERDUE_AT = '{ customer(id: "1") { overdue(asOf: %s) { isOverdue } } }'

CASES: list[tuple[str, dict[str, Any] | None, str]] = [
    ("{ customers(first: 1) { edges { node { id } } }", None, "GRAPHQL_PARSE_FAILED"),
    ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("{ customers { edges { node { ... on Product { sku } } } } }", None,
     "GRAPHQL_VALIDATION_FAILED"),
    (CREATE % '"NaN"', None, "BAD_USER_INPUT"),
    (CREATE % "10", None, "BAD_USER_INPUT"),
    (CREATE % '"1e309"', None, "BAD_USER_INPUT"),
    (OVERDUE_AT % '"2024-01-01T00:00:00"', None, "BAD_USER_INPUT"),
    (OVERDUE_AT % '"yesterday"', None, "BAD_USER_INPUT"),
    (CREATE_WITH, {"m": 10}, "BAD_USER_INPUT"),
    (CREATE_WITH, {"m": "abc"}, "BAD_USER_INPUT"),
    ("query($f: Int!) { customers(first: $f) { edges { cursor } } }", {}, "BAD_USER_INPUT"),
    ("query A { viewer { role } } query B { viewer { role } }", None, "BAD_USER_INPUT"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "variables", "code"), CASES)
async def test_each_mistake_gets_its_code_and_a_message_about_the_request(
    tenant: Tenant, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    answer = await tenant.gql(query, variables)
    assert answer["data"] is None, answer
    assert error_codes(answer) == [code], answer
    assert "request id" not in answer["errors"][0]["message"]


BODIES = {
    "not JSON": ("POST", b"{not json", "application/json", 400, "BAD_USER_INPUT"),
    "not UTF-8": ("POST", b'{"query": "\xff\xfe"}', "application/json", 400, "BAD_USER_INPUT"),
    "nested 5,000 deep": (
        "POST",
        b"[" * 5_000 + b"]" * 5_000,
        "application/json",
        400,
        "BAD_USER_INPUT",
    ),
    "content type": ("POST", b'{"query": "{ __typename }"}', "text/plain", 400, "BAD_USER_INPUT"),
    "no query": ("POST", b'{"variables": {}}', "application/json", 400, "BAD_USER_INPUT"),
    "method": ("PUT", b"{}", "application/json", 405, "BAD_USER_INPUT"),
    "too large": ("POST", b"x" * 300_000, "application/json", 413, "PAYLOAD_TOO_LARGE"),
}


@pytest.mark.parametrize("case", BODIES)
async def test_a_malformed_request_gets_a_json_answer_with_its_code(
    tenant: Tenant, case: str
) -> None:
    method, body, content_type, status, code = BODIES[case]
    response = await tenant.http.request(
        method, "/graphql", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["errors"][0]["extensions"]["code"] == code


def _forged(*values: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


FORGED = {
    "a NUL in a name": ("customers", _forged(CUSTOMERS, "A\x00B", 1)),
    "a name longer than any": ("customers", _forged(CUSTOMERS, "A" * 5_000, 1)),
    "year 9999": ("overdueCustomers", _forged(OVERDUE, "9999-12-31T23:59:59+00:00", 1)),
    "year 9999 west of UTC": ("overdueCustomers", _forged(OVERDUE, "9999-12-31T23:59:59-05:00", 1)),
    "year 1": ("overdueCustomers", _forged(OVERDUE, "0001-01-01T00:00:00+05:00", 1)),
}


@pytest.mark.parametrize("case", FORGED)
async def test_a_forged_cursor_is_bad_user_input(tenant: Tenant, case: str) -> None:
    field, cursor = FORGED[case]
    answer = await tenant.gql(
        f"query($after: String) {{ {field}(after: $after) {{ edges {{ cursor }} }} }}",
        {"after": cursor},
    )
    assert error_codes(answer) == ["BAD_USER_INPUT"], answer


@pytest.mark.parametrize(
    "query",
    [
        'query($id: ID = "1") { customer(id: $id) { name } }',
        "query($v: Boolean = true) { viewer { role @skip(if: $v) } }",
    ],
)
async def test_null_sent_for_a_default_that_filled_a_non_null_argument_is_bad_input(
    tenant: Tenant, query: str
) -> None:
    """Valid as written (the default fills the argument); the explicit ``null`` is the
    client's mistake, found only at run time."""
    answer = await tenant.gql(query, {"id": None, "v": None})
    assert error_codes(answer) == ["BAD_USER_INPUT"], answer
    assert answer["errors"][0]["message"].startswith("Argument '")
