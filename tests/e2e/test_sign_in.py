"""Signing in: tokens, their rotation and revocation, lockouts, and bad input.

Each test runs its own in-process service with short settings (access tokens,
key rotation, lockouts), and callers with their own client addresses, so that
sign-in failures here never lock anyone else out.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.domain.identity import Role
from app.main import create_app
from bench.pgbouncer import PgBouncer
from tests.accounts import (
    CHANGE_PASSWORD,
    CREATE_USER,
    LOGOUT,
    ME,
    UPDATE_USER,
    login,
    new_email,
    new_user,
    refresh,
    signed_in,
)
from tests.conftest import Tenant, new_tenant, pooled_settings, post_graphql
from tests.helpers import VIEWER, error_codes

_addresses = iter(range(1, 250))


@asynccontextmanager
async def serving(
    database_url: str, **settings: Any
) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """The service with ``settings``; yields a maker of clients, each from a new address."""
    app = create_app(Settings(database_url=database_url, auth_cache_seconds=0, **settings))
    clients: list[httpx.AsyncClient] = []

    def client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(f"10.0.0.{next(_addresses)}", 1234))
        made = httpx.AsyncClient(transport=transport, base_url="http://test")
        clients.append(made)
        return made

    async with app.starlette.router.lifespan_context(app.starlette):
        try:
            yield client
        finally:
            for made in clients:
                await made.aclose()


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(database_url) as make:
        yield make()


def refused(answer: dict[str, Any]) -> bool:
    return answer.get("data") in (None, {"me": None}) and error_codes(answer) == ["UNAUTHENTICATED"]


# --- Signing in ---------------------------------------------------------------------


async def test_a_user_signs_in_with_any_case_of_their_email_and_acts_with_their_role(
    owner_db: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(owner_db, client)
    user_id, email, password = await new_user(owner_db, tenant.id, Role.STAFF)

    result = await signed_in(client, f"  {email.upper()} ", password)

    assert result["user"]["id"] == user_id
    assert result["user"]["email"] == email
    assert result["user"]["lastLoginAt"] is not None
    token = result["accessToken"]
    assert (await post_graphql(client, ME, token=token))["data"]["me"]["role"] == "STAFF"
    viewer = await post_graphql(client, VIEWER, token=token)
    assert viewer["data"]["viewer"]["business"]["id"] == str(tenant.id)
    assert viewer["data"]["viewer"]["role"] == "STAFF"
    assert (await post_graphql(client, ME, token=tenant.keys[Role.OWNER]))["data"] == {"me": None}


async def test_an_email_belongs_to_one_user_across_the_service_whatever_its_case(
    owner_db: AsyncEngine, client: httpx.AsyncClient
) -> None:
    first, second = await new_tenant(owner_db, client), await new_tenant(owner_db, client)
    _, email, _ = await new_user(owner_db, first.id, Role.CASHIER)

    for tenant in (first, second):
        answer = await tenant.data(
            CREATE_USER, {"input": {"email": email.upper(), "fullName": "Twin", "role": "VIEWER"}}
        )
        assert answer["createUser"]["__typename"] == "InvalidInput"
        assert answer["createUser"]["fields"] == [
            {"field": "email", "message": "is already in use"}
        ]


async def test_an_unknown_email_a_wrong_password_and_an_inactive_account_look_alike(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(database_url, sign_in_attempts=100) as make:
        client = make()
        tenant = await new_tenant(owner_db, client)
        user_id, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
        _, inactive, inactive_password = await new_user(owner_db, tenant.id, Role.CASHIER)
        _, _, _ = await new_user(owner_db, tenant.id, Role.CASHIER)
        inactive_id = (await signed_in(client, inactive, inactive_password))["user"]["id"]
        deactivated = await tenant.data(
            UPDATE_USER, {"input": {"userId": inactive_id, "active": False}}
        )
        assert deactivated["updateUser"]["user"]["active"] is False
        attempts = {
            "unknown email": (new_email(), password),
            "wrong password": (email, password + "x"),
            "inactive account": (inactive, inactive_password),
        }
        answers, times = {}, {}
        for case, (who, secret) in attempts.items():
            durations = []
            for _ in range(5):
                started = time.perf_counter()
                answers[case] = await login(client, who, secret)
                durations.append(time.perf_counter() - started)
            times[case] = statistics.median(durations)

    assert len({orjson.dumps(answer) for answer in answers.values()}) == 1, answers
    assert answers["unknown email"]["__typename"] == "LoginFailed"
    # The same work (one Argon2 verification) whether or not the account exists.
    fastest, slowest = min(times.values()), max(times.values())
    assert slowest < 2 * fastest, times
    assert user_id


# --- Refresh tokens -----------------------------------------------------------------


async def test_a_refresh_token_works_once_and_its_reuse_ends_the_whole_session(
    owner_db: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(owner_db, client)
    _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
    first = await signed_in(client, email, password)
    other_session = await signed_in(client, email, password)

    second = (await refresh(client, first["refreshToken"]))["data"]["refreshSession"]
    third = (await refresh(client, second["refreshToken"]))["data"]["refreshSession"]
    assert len({first["refreshToken"], second["refreshToken"], third["refreshToken"]}) == 3
    assert third["user"]["email"] == email
    assert (await post_graphql(client, ME, token=third["accessToken"]))["data"]["me"]

    reused = await refresh(client, first["refreshToken"])  # a thief's copy, say

    assert refused(reused)
    assert refused(await refresh(client, third["refreshToken"])), "the family is revoked"
    for access in (first, second, third):
        assert refused(await post_graphql(client, ME, token=access["accessToken"]))
    # Another sign-in of the same user is another family, untouched.
    assert (await post_graphql(client, ME, token=other_session["accessToken"]))["data"]["me"]
    assert (await refresh(client, other_session["refreshToken"]))["data"]["refreshSession"]


@pytest.mark.parametrize(
    "token",
    ["", "nonsense", "clr_1_1", "clr_x_1_" + "a" * 43, "clr_1_1_" + "a" * 43, "cl_1_1_secret"],
)
async def test_a_refresh_token_that_is_not_one_is_unauthenticated(
    client: httpx.AsyncClient, token: str
) -> None:
    assert refused(await refresh(client, token))


async def test_logout_ends_the_session_and_its_refresh_token(
    owner_db: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(owner_db, client)
    _, email, password = await new_user(owner_db, tenant.id, Role.VIEWER)
    session = await signed_in(client, email, password)

    assert (await post_graphql(client, LOGOUT, token=session["accessToken"]))["data"] == {
        "logout": True
    }

    assert refused(await post_graphql(client, ME, token=session["accessToken"]))
    assert refused(await refresh(client, session["refreshToken"]))


async def test_a_session_expires(owner_db: AsyncEngine, database_url: str) -> None:
    async with serving(database_url, session_seconds=1) as make:
        client = make()
        tenant = await new_tenant(owner_db, client)
        _, email, password = await new_user(owner_db, tenant.id, Role.VIEWER)
        session = await signed_in(client, email, password)
        await asyncio.sleep(1.2)
        assert refused(await refresh(client, session["refreshToken"]))
        assert refused(await post_graphql(client, ME, token=session["accessToken"]))


# --- Access tokens ------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _forged(token: str, how: str) -> str:
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    match how:
        case "tampered":
            return f"{header}.{_b64({**claims, 'sub': str(int(claims['sub']) + 1)})}.{signature}"
        case "wrong kid":
            return f"{_b64({'alg': 'HS256', 'kid': 'nope', 'typ': 'JWT'})}.{payload}.{signature}"
        case "alg none":
            return f"{_b64({'alg': 'none', 'kid': kid, 'typ': 'JWT'})}.{payload}."
        case "another secret":
            return jwt.encode(claims, b"x" * 32, "HS256", headers={"kid": kid})
        case "truncated":
            return f"{header}.{payload}.{signature[:-3]}"
        case "malformed":
            return f"{header}.{payload[5:]}.{signature}"
        case _:
            raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["tampered", "wrong kid", "alg none", "another secret", "truncated", "malformed"]
)
async def test_a_forged_access_token_is_unauthenticated(
    owner_db: AsyncEngine, client: httpx.AsyncClient, how: str
) -> None:
    tenant = await new_tenant(owner_db, client)
    await new_user(owner_db, tenant.id, Role.OWNER)
    _, email, password = await new_user(owner_db, tenant.id, Role.OWNER)
    token = (await signed_in(client, email, password))["accessToken"]
    assert (await post_graphql(client, ME, token=token))["data"]["me"]

    forged = _forged(token, how)

    assert refused(await post_graphql(client, ME, token=forged))
    assert refused(await post_graphql(client, VIEWER, token=forged))


async def test_an_expired_access_token_is_unauthenticated_and_a_refresh_gives_a_new_one(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(database_url, access_token_seconds=1) as make:
        client = make()
        tenant = await new_tenant(owner_db, client)
        _, email, password = await new_user(owner_db, tenant.id, Role.VIEWER)
        session = await signed_in(client, email, password)
        assert (await post_graphql(client, ME, token=session["accessToken"]))["data"]["me"]
        await asyncio.sleep(2.1)  # PyJWT's exp is to the second
        assert refused(await post_graphql(client, ME, token=session["accessToken"]))
        renewed = (await refresh(client, session["refreshToken"]))["data"]["refreshSession"]
        assert (await post_graphql(client, ME, token=renewed["accessToken"]))["data"]["me"]


async def test_signing_keys_rotate_and_tokens_of_the_previous_key_still_verify(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(database_url, signing_key_rotation_seconds=4) as make:
        client = make()
        tenant = await new_tenant(owner_db, client)
        _, email, password = await new_user(owner_db, tenant.id, Role.VIEWER)
        session = await signed_in(client, email, password)
        old_kid = jwt.get_unverified_header(session["accessToken"])["kid"]
        deadline = time.monotonic() + 15
        while True:
            session = (await refresh(client, session["refreshToken"]))["data"]["refreshSession"]
            if jwt.get_unverified_header(session["accessToken"])["kid"] != old_kid:
                break
            assert time.monotonic() < deadline, "no new signing key"
            await asyncio.sleep(0.25)
        first_token = (await signed_in(client, email, password))["accessToken"]
        assert jwt.get_unverified_header(first_token)["kid"] != old_kid, "the newest key signs"
    async with owner_db.connect() as connection:
        kids = (await connection.execute(text("SELECT kid FROM signing_keys"))).scalars().all()
    assert old_kid in kids
    async with serving(database_url, signing_key_rotation_seconds=4) as make:
        client = make()
        # A token of the previous key, checked by a process that never signed with it.
        old = await signed_in(client, email, password)
        assert (await post_graphql(client, ME, token=old["accessToken"]))["data"]["me"]


# --- Lockouts -----------------------------------------------------------------------


async def test_failures_lock_an_email_out_then_the_lock_ends_and_the_next_lasts_longer(
    owner_db: AsyncEngine, database_url: str
) -> None:
    policy = {"sign_in_attempts": 3, "sign_in_lockout_seconds": 1.0}
    async with serving(database_url, **policy) as make:
        tenant = await new_tenant(owner_db, make())
        _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)

        for _ in range(3):  # from three addresses: the email is what is locked
            assert (await login(make(), email, "wrong password!"))["__typename"] == "LoginFailed"
        locked = await login(make(), email, password)  # the right password, too late

        assert locked["__typename"] == "RateLimited", locked
        assert locked["retryAfterSeconds"] == 1
        await asyncio.sleep(1.1)
        for _ in range(3):
            assert (await login(make(), email, "wrong password!"))["__typename"] == "LoginFailed"
        longer = await login(make(), email, password)
        assert longer["__typename"] == "RateLimited"
        assert longer["retryAfterSeconds"] == 2, "each lockout doubles the last"
        await asyncio.sleep(2.1)
        assert (await login(make(), email, password))["__typename"] == "LoginSucceeded"


async def test_failures_from_one_address_lock_it_out_for_every_email(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(database_url, sign_in_attempts=3, sign_in_lockout_seconds=30.0) as make:
        guesser = make()
        tenant = await new_tenant(owner_db, guesser)
        _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
        for _ in range(3):
            assert (await login(guesser, new_email(), "guess guess"))["__typename"] == "LoginFailed"

        assert (await login(guesser, email, password))["__typename"] == "RateLimited"
        assert (await login(make(), email, password))["__typename"] == "LoginSucceeded"


# --- Bad input ----------------------------------------------------------------------


async def test_an_overlong_email_or_password_is_invalid_input_and_is_not_hashed(
    owner_db: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(owner_db, client)
    _, email, password = await new_user(owner_db, tenant.id, Role.OWNER)
    long_email = "a" * 290 + "@example.com"

    started = time.perf_counter()
    huge = await login(client, email, "p" * 10_240)
    assert time.perf_counter() - started < 0.5
    assert huge["__typename"] == "InvalidInput"
    assert [f["field"] for f in huge["fields"]] == ["password"]
    long = await login(client, long_email, password)
    assert long["__typename"] == "InvalidInput"
    assert [f["field"] for f in long["fields"]] == ["email"]
    created = await tenant.data(
        CREATE_USER, {"input": {"email": long_email, "fullName": "Long", "role": "STAFF"}}
    )
    assert created["createUser"]["__typename"] == "InvalidInput"
    assert (await signed_in(client, email, password))["user"]["email"] == email, "not locked"


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        ("short", "must be at least 10 characters"),
        ("1234567890", "is too common"),
        ("  PassWord123 ", "is too common"),
        ("p" * 10_240, "must be at most 1024 characters"),
    ],
)
async def test_a_new_password_must_be_long_and_uncommon(
    owner_db: AsyncEngine, client: httpx.AsyncClient, new: str, problem: str
) -> None:
    tenant = await new_tenant(owner_db, client)
    _, email, password = await new_user(owner_db, tenant.id, Role.VIEWER)
    token = (await signed_in(client, email, password))["accessToken"]

    answer = await post_graphql(
        client, CHANGE_PASSWORD, {"input": {"currentPassword": password, "newPassword": new}},
        token=token,
    )  # fmt: skip

    result = answer["data"]["changePassword"]
    assert result["__typename"] == "InvalidInput"
    assert result["fields"] == [{"field": "newPassword", "message": problem}]
    assert (await signed_in(client, email, password))["user"]["email"] == email


async def test_a_wrong_current_password_changes_nothing(
    owner_db: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant: Tenant = await new_tenant(owner_db, client)
    _, email, password = await new_user(owner_db, tenant.id, Role.VIEWER)
    token = (await signed_in(client, email, password))["accessToken"]
    change = {"input": {"currentPassword": "not the one!", "newPassword": "another long one"}}

    answer = await post_graphql(client, CHANGE_PASSWORD, change, token=token)

    assert answer["data"]["changePassword"]["fields"][0]["field"] == "currentPassword"
    assert (await signed_in(client, email, password))["user"]["email"] == email


async def test_signing_in_refreshing_and_logging_out_work_behind_a_transaction_pooler(
    owner_db: AsyncEngine, database_url: str, pgbouncer: PgBouncer
) -> None:
    settings = pooled_settings(database_url, pgbouncer, auth_cache_seconds=0)
    app = create_app(settings)
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app, client=("10.0.1.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            tenant = await new_tenant(owner_db, client)
            _, email, password = await new_user(owner_db, tenant.id, Role.OWNER)
            session = await signed_in(client, email, password)
            renewed = (await refresh(client, session["refreshToken"]))["data"]["refreshSession"]
            created = await post_graphql(
                client, CREATE_USER,
                {"input": {"email": new_email(), "fullName": "Pooled", "role": "STAFF"}},
                token=renewed["accessToken"],
            )  # fmt: skip
            assert created["data"]["createUser"]["__typename"] == "UserCreated"
            assert (await post_graphql(client, LOGOUT, token=renewed["accessToken"]))["data"]
            assert refused(await post_graphql(client, ME, token=renewed["accessToken"]))
