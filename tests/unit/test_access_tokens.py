"""An access token lives at least the configured time, whatever the clock's fraction."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from app.services import access_tokens
from app.services.access_tokens import AccessClaims, SigningKeys, TokenPolicy

CLAIMS = AccessClaims(business_id=1, user_id=2, session_id=3)


class OneKey:
    """The two calls ``SigningKeys.reload`` makes: a key is due, and it is the only one."""

    async def fetchval(self, sql: str, *args: Any) -> None:
        return None

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [{"kid": "k1", "secret": b"s" * 32, "signs_from": 0.0, "expires_at": 1e12}]


@pytest.mark.parametrize("now", [1_000.0, 1_000.01, 1_000.5, 1_000.99])
@pytest.mark.parametrize("seconds", [1, 900])
async def test_a_token_lives_at_least_its_seconds(
    monkeypatch: pytest.MonkeyPatch, now: float, seconds: int
) -> None:
    keys = SigningKeys(OneKey(), TokenPolicy(access_seconds=seconds))  # type: ignore[arg-type]
    await keys.reload()
    monkeypatch.setattr(access_tokens.time, "time", lambda: now)

    token, expires = keys.issue(CLAIMS)

    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert exp == expires
    assert now + seconds <= exp < now + seconds + 1


async def test_a_one_second_token_issued_late_in_a_second_still_verifies() -> None:
    """Rounded down, this token expired at the next whole second, 0.05 s after it was
    issued (PyJWT refuses a token at its ``exp``)."""
    keys = SigningKeys(OneKey(), TokenPolicy(access_seconds=1))  # type: ignore[arg-type]
    await keys.reload()
    await asyncio.sleep((0.95 - time.time() % 1) % 1)  # to 0.95 s into a second

    token, _ = keys.issue(CLAIMS)
    await asyncio.sleep(0.2)  # into the next second

    assert await keys.verify(token) == CLAIMS
