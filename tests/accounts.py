"""GraphQL snippets and helpers for users, sign-in and sessions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services import admin
from tests.conftest import Tenant, new_tenant, post_graphql

USER_FIELDS = "id email fullName role active lastLoginAt createdAt"

LOGIN = f"""
mutation($input: LoginInput!) {{
  login(input: $input) {{
    __typename
    ... on LoginSucceeded {{ accessToken refreshToken expiresAt user {{ {USER_FIELDS} }} }}
    ... on LoginFailed {{ message }}
    ... on RateLimited {{ message retryAfterSeconds }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""

REFRESH = f"""
mutation($token: String!) {{
  refreshSession(refreshToken: $token) {{
    accessToken refreshToken expiresAt user {{ {USER_FIELDS} }}
  }}
}}
"""

LOGOUT = "mutation { logout }"

CHANGE_PASSWORD = f"""
mutation($input: ChangePasswordInput!) {{
  changePassword(input: $input) {{
    __typename
    ... on PasswordChanged {{ user {{ {USER_FIELDS} }} }}
    ... on RateLimited {{ message retryAfterSeconds }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""

ME = f"{{ me {{ {USER_FIELDS} }} }}"

USERS = f"""
query($first: Int!, $after: String) {{
  users(first: $first, after: $after) {{
    edges {{ cursor node {{ {USER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

CREATE_USER = f"""
mutation($input: CreateUserInput!) {{
  createUser(input: $input) {{
    __typename
    ... on UserCreated {{ oneTimePassword user {{ {USER_FIELDS} }} }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""

UPDATE_USER = f"""
mutation($input: UpdateUserInput!) {{
  updateUser(input: $input) {{
    __typename
    ... on UserUpdated {{ user {{ {USER_FIELDS} }} }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""

RESET_PASSWORD = f"""
mutation($userId: ID!) {{
  resetPassword(userId: $userId) {{
    __typename
    ... on PasswordReset {{ oneTimePassword user {{ {USER_FIELDS} }} }}
    ... on NotFound {{ message id }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@Example.COM"


async def new_user(
    owner_db: AsyncEngine, business_id: int, role: Role, email: str | None = None
) -> tuple[str, str, str]:
    """A user made by the operator's command: (id, email, one-time password)."""
    made = await admin.create_user(
        owner_db, business_id=business_id, email=email or new_email(), role=role
    )
    return str(made.user.id), made.user.email, made.one_time_password


async def login(
    http: httpx.AsyncClient, email: str, password: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The ``login`` result object."""
    response = await http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": email, "password": password}}},
        headers=headers or {},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "errors" not in answer, answer
    return answer["data"]["login"]  # type: ignore[no-any-return]


async def signed_in(http: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    result = await login(http, email, password)
    assert result["__typename"] == "LoginSucceeded", result
    return result


async def refresh(http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    return await post_graphql(http, REFRESH, {"token": token})


async def staffed_tenant(owner_db: AsyncEngine, http: httpx.AsyncClient) -> Tenant:
    """A business whose callers are signed-in users, one per role: ``keys`` holds
    their access tokens."""
    keyed = await new_tenant(owner_db, http)
    tokens = {}
    for role in Role:
        _, email, password = await new_user(owner_db, keyed.id, role)
        tokens[role] = (await signed_in(http, email, password))["accessToken"]
    return Tenant(id=keyed.id, keys=tokens, http=http)
