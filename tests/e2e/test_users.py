"""An owner's view of their business's users: pages, and nobody else's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.accounts import ME, RESET_PASSWORD, UPDATE_USER, USERS, new_user, signed_in
from tests.conftest import Tenant, post_graphql
from tests.helpers import error_codes


async def test_users_are_paged_by_email_with_cursors(owner_db: AsyncEngine, tenant: Tenant) -> None:
    emails = [f"{name}-{tenant.id}@example.com" for name in ("cara", "abel", "bina")]
    for email, role in zip(emails, (Role.STAFF, Role.CASHIER, Role.VIEWER), strict=True):
        await new_user(owner_db, tenant.id, role, email)

    first = (await tenant.data(USERS, {"first": 2}))["users"]
    rest = (await tenant.data(USERS, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "users"
    ]

    paged = [edge["node"]["email"] for edge in first["edges"] + rest["edges"]]
    assert paged == sorted(emails)
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    assert [edge["node"]["role"] for edge in first["edges"]] == ["CASHIER", "VIEWER"]
    bad = await tenant.gql(USERS, {"first": 2, "after": "bm90IGEgY3Vyc29y"})
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    too_many = await tenant.gql(USERS, {"first": 101})
    assert error_codes(too_many) == ["BAD_USER_INPUT"]


async def test_an_owner_can_neither_see_nor_change_another_businesss_users(
    owner_db: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    stranger, _, _ = await new_user(owner_db, other_tenant.id, Role.CASHIER)
    await new_user(owner_db, tenant.id, Role.CASHIER)

    listed = (await tenant.data(USERS, {"first": 100}))["users"]["edges"]
    changed = await tenant.data(UPDATE_USER, {"input": {"userId": stranger, "active": False}})
    reset = await tenant.data(RESET_PASSWORD, {"userId": stranger})

    assert stranger not in [edge["node"]["id"] for edge in listed]
    assert changed["updateUser"]["__typename"] == "NotFound"
    assert reset["resetPassword"]["__typename"] == "NotFound"
    theirs = (await other_tenant.data(USERS, {"first": 100}))["users"]["edges"]
    assert [edge["node"]["active"] for edge in theirs] == [True]


async def test_an_owner_cannot_change_their_own_account_and_a_null_role_is_invalid(
    owner_db: AsyncEngine, tenant: Tenant
) -> None:
    owner, email, password = await new_user(owner_db, tenant.id, Role.OWNER)
    token = (await signed_in(tenant.http, email, password))["accessToken"]
    user, _, _ = await new_user(owner_db, tenant.id, Role.CASHIER)

    own = await post_graphql(
        tenant.http, UPDATE_USER, {"input": {"userId": owner, "active": False}}, token=token
    )
    null = await post_graphql(
        tenant.http, UPDATE_USER, {"input": {"userId": user, "role": None}}, token=token
    )

    assert own["data"]["updateUser"]["fields"] == [
        {"field": "userId", "message": "is your own account"}
    ]
    assert null["data"]["updateUser"]["fields"] == [
        {"field": "role", "message": "must not be null"}
    ]
    assert (await post_graphql(tenant.http, ME, token=token))["data"]["me"]["active"] is True
