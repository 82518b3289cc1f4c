"""Behind a trusted proxy (``TRUST_FORWARDED_HEADERS=on``) sign-in throttling counts the
address the proxy appended to ``X-Forwarded-For``; otherwise the peer's, whatever the
header says."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.accounts import LOGIN, new_email, new_user
from tests.conftest import new_tenant
from tests.e2e.test_sign_in import serving


async def login_via(client: httpx.AsyncClient, email: str, password: str, forwarded: str) -> str:
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": email, "password": password}}},
        headers={"X-Forwarded-For": forwarded},
    )
    return str(response.json()["data"]["login"]["__typename"])


async def test_a_trusted_proxys_last_address_is_the_one_locked_out(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(
        database_url, sign_in_attempts=3, sign_in_lockout_seconds=30.0,
        trust_forwarded_headers=True,
    ) as make:  # fmt: skip
        proxy = make()  # every request comes from the proxy's own address
        tenant = await new_tenant(owner_db, proxy)
        _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
        for spoofed in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
            # What the client put first changes nothing: the proxy appended 203.0.113.9.
            failed = await login_via(proxy, new_email(), "guess guess", f"{spoofed}, 203.0.113.9")
            assert failed == "LoginFailed"
        assert await login_via(proxy, email, password, "203.0.113.9") == "RateLimited"
        # Another client behind the same proxy is not locked out.
        assert await login_via(proxy, email, password, "198.51.100.7") == "LoginSucceeded"


async def test_without_trust_the_forwarded_address_is_ignored(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(database_url, sign_in_attempts=3, sign_in_lockout_seconds=30.0) as make:
        guesser = make()
        tenant = await new_tenant(owner_db, guesser)
        _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
        for n in range(3):
            failed = await login_via(guesser, new_email(), "guess guess", f"10.9.9.{n}")
            assert failed == "LoginFailed"
        assert await login_via(guesser, email, password, "198.51.100.7") == "RateLimited"
