"""Who may call: a request without a valid key gets no data and ``UNAUTHENTICATED``.

What each role may do is ``test_role_table.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services import admin
from app.services.api_keys import parse_key_ref
from tests.conftest import Tenant, new_tenant, post_graphql
from tests.helpers import (
    CREATE_CUSTOMER,
    CUSTOMER,
    VIEWER,
    error_codes,
    make_customer,
    row_counts,
)

# --- Authentication -----------------------------------------------------------------


def _swap_business(token: str, business_id: int) -> str:
    _, _, key_id, secret = token.split("_", 3)
    return f"cl_{business_id}_{key_id}_{secret}"


def _key_id(token: str) -> str:
    """cl_<business>_<key> of a token; the secret after it may itself hold "_"."""
    return "_".join(token.split("_", 3)[:3])


BAD_AUTHORIZATION: dict[str, Callable[[Tenant, Tenant], str | None]] = {
    "missing header": lambda a, b: None,
    "empty header": lambda a, b: "",
    "scheme only": lambda a, b: "Bearer",
    "scheme and spaces": lambda a, b: "Bearer    ",
    "no scheme": lambda a, b: a.keys[Role.OWNER],
    "basic scheme": lambda a, b: f"Basic {a.keys[Role.OWNER]}",
    "garbage token": lambda a, b: "Bearer not-a-key",
    "key id without secret": lambda a, b: "Bearer " + _key_id(a.keys[Role.OWNER]),
    "empty secret": lambda a, b: "Bearer " + _key_id(a.keys[Role.OWNER]) + "_",
    "wrong prefix": lambda a, b: "Bearer xx" + a.keys[Role.OWNER][2:],
    "non-numeric business": lambda a, b: "Bearer cl_abc_1_secret",
    "over-long token": lambda a, b: "Bearer " + a.keys[Role.OWNER] + "x" * 200,
    "unknown key id": lambda a, b: f"Bearer cl_{a.id}_999999999_secretsecretsecret",
    "unknown business": lambda a, b: "Bearer " + _swap_business(a.keys[Role.OWNER], 10**15),
    "wrong secret": lambda a, b: "Bearer " + a.keys[Role.OWNER][:-4] + "AAAA",
    "key naming another business": lambda a, b: (
        "Bearer " + _swap_business(a.keys[Role.OWNER], b.id)
    ),
}


async def _call(
    http: httpx.AsyncClient, authorization: str | None, query: str, variables: Any = None
) -> dict[str, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
async def test_a_request_without_a_valid_key_gets_no_data_and_unauthenticated(
    owner_db: AsyncEngine, http: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant,
    case: str,
) -> None:  # fmt: skip
    authorization = BAD_AUTHORIZATION[case](tenant, other_tenant)
    customer = await make_customer(tenant)
    before = await row_counts(owner_db, tenant.id), await row_counts(owner_db, other_tenant.id)

    read = await _call(http, authorization, VIEWER)
    lookup = await _call(http, authorization, CUSTOMER, {"id": customer})
    write = await _call(http, authorization, CREATE_CUSTOMER, {"input": {"name": "Intruder"}})

    assert read["data"] is None
    assert lookup["data"] in (None, {"customer": None})
    assert write["data"] is None
    for answer in (read, lookup, write):
        assert error_codes(answer) == ["UNAUTHENTICATED"], answer
    assert (await row_counts(owner_db, tenant.id), await row_counts(owner_db, other_tenant.id)) == (
        before
    )


async def test_the_bearer_scheme_is_case_insensitive(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer = await _call(http, f"bearer {tenant.keys[Role.CASHIER]}", VIEWER)
    assert answer["data"]["viewer"]["role"] == "CASHIER"


async def test_a_revoked_key_stops_working_and_the_others_do_not(
    owner_db: AsyncEngine, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = tenant.keys[Role.CASHIER]
    assert (await tenant.data(VIEWER, role=Role.CASHIER))["viewer"]["role"] == "CASHIER"

    ref = await admin.revoke_key(owner_db, token)

    assert ref == parse_key_ref(token)
    answer = await post_graphql(http, VIEWER, token=token)
    assert answer["data"] is None
    assert error_codes(answer) == ["UNAUTHENTICATED"]
    written = await post_graphql(http, CREATE_CUSTOMER, {"input": {"name": "X"}}, token=token)
    assert error_codes(written) == ["UNAUTHENTICATED"]
    assert (await tenant.data(VIEWER, role=Role.OWNER))["viewer"]["role"] == "OWNER"


# --- Roles --------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
async def test_viewer_names_the_business_and_role_of_the_key(
    owner_db: AsyncEngine, http: httpx.AsyncClient, role: Role
) -> None:
    business = await new_tenant(owner_db, http, currency="JPY", terms_days=45)
    data = await business.data(VIEWER, role=role)
    assert data == {
        "viewer": {
            "business": {
                "id": str(business.id),
                "name": "Test business",
                "currency": "JPY",
                "paymentTermsDays": 45,
            },
            "role": role.name,
        }
    }
