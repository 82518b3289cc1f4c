"""Access tokens: HS256 JWTs (PyJWT) that name a user, a session and a signing key.

Signing keys live in ``signing_keys`` so that every worker and instance signs and
verifies with the same ones.  Each key is published before it signs: a worker
that finds the newest key due for replacement inserts the next one, to sign from
``publish_seconds`` later, which gives every other worker time to load it (each
reloads every ``reload_seconds``, and at once on meeting an unknown ``kid``, at
most once a second).  The newest key whose time has come signs; every key not yet
expired verifies, and a key expires well after the last token it signed.

A token is only a claim: ``Authenticator`` still asks whether the user is active
and the session open (cached, and forgotten on change), so a deactivated user's
token stops working within a second although it has not expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from dataclasses import dataclass

import jwt

from app.db.driver_pool import DriverPool
from app.services.retry import TryAgain
from app.services.unit_of_work import fetch

ALGORITHM = "HS256"
ISSUER = "credit-ledger"
UNKNOWN_KID_RELOAD_SECONDS = 1.0

logger = logging.getLogger("credit_ledger.access_tokens")


@dataclass(frozen=True)
class TokenPolicy:
    access_seconds: int = 900
    rotation_seconds: int = 86_400
    """How long a key signs before the next one takes over."""

    @property
    def reload_seconds(self) -> float:
        return min(30.0, self.rotation_seconds / 8)

    @property
    def publish_seconds(self) -> float:
        return 2 * self.reload_seconds


@dataclass(frozen=True)
class AccessClaims:
    business_id: int
    user_id: int
    session_id: int


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes
    signs_from: float
    expires_at: float


_LOAD = (
    "SELECT kid, secret, extract(epoch FROM signs_from)::float8 AS signs_from,"
    " extract(epoch FROM expires_at)::float8 AS expires_at"
    " FROM signing_keys WHERE expires_at > now()"
)
_CREATE_WHEN_DUE = """
INSERT INTO signing_keys (kid, secret, signs_from, expires_at)
SELECT $1, $2, first.signs_from, first.signs_from + make_interval(secs => $5)
  FROM (SELECT CASE WHEN EXISTS (SELECT FROM signing_keys WHERE expires_at > now())
                    THEN now() + make_interval(secs => $3) ELSE now() END AS signs_from) AS first
 WHERE NOT EXISTS (SELECT FROM signing_keys WHERE signs_from > now() - make_interval(secs => $4))
"""


class SigningKeys:
    def __init__(self, pool: DriverPool, policy: TokenPolicy) -> None:
        self._pool = pool
        self.policy = policy
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the keys, or, with the database away, start without and keep trying."""
        try:
            await self.reload()
        except TryAgain:
            logger.warning("could not load the token signing keys; retrying in the background")
        self._task = asyncio.create_task(self._keep_loading())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def reload(self) -> None:
        """Create the next key if the newest is due for replacement, then load them all."""
        policy = self.policy
        lifetime = 2 * policy.rotation_seconds + policy.access_seconds + policy.publish_seconds
        await fetch(
            self._pool.fetchval,
            _CREATE_WHEN_DUE,
            (
                secrets.token_hex(8),
                secrets.token_bytes(32),
                float(policy.publish_seconds),
                float(policy.rotation_seconds - policy.publish_seconds),
                float(lifetime),
            ),
        )
        rows = await fetch(self._pool.fetch, _LOAD, ())
        self._keys = {
            row["kid"]: SigningKey(row["kid"], row["secret"], row["signs_from"], row["expires_at"])
            for row in rows
        }
        self._loaded_at = time.monotonic()

    async def _keep_loading(self) -> None:
        while True:
            await asyncio.sleep(self.policy.reload_seconds)
            try:
                await self.reload()
            except Exception:  # the database may be away: keep the keys known, retry later
                logger.warning("could not reload the token signing keys", exc_info=True)

    def issue(self, claims: AccessClaims) -> tuple[str, float]:
        """A signed access token for ``claims``, and when it expires (epoch seconds)."""
        now = time.time()
        usable = [key for key in self._keys.values() if key.signs_from <= now < key.expires_at]
        if not usable:  # only while the database has been away since start-up
            raise TryAgain("No token signing key is loaded yet; retry.")
        signing = max(usable, key=lambda key: (key.signs_from, key.kid))
        # ``exp`` is whole seconds: rounded up, so a token lives at least ``access_seconds``
        # (rounded down, a 1-second token could be expired 0.1 s after it was issued).
        expires = math.ceil(now) + self.policy.access_seconds
        payload = {
            "iss": ISSUER,
            "sub": str(claims.user_id),
            "bid": claims.business_id,
            "sid": claims.session_id,
            "iat": int(now),
            "exp": expires,
        }
        token = jwt.encode(payload, signing.secret, ALGORITHM, headers={"kid": signing.kid})
        return token, float(expires)

    async def verify(self, token: str) -> AccessClaims | None:
        """The claims of a well-formed, unexpired token signed by a known key; else ``None``."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            return None
        if not isinstance(kid, str):
            return None
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._loaded_at > UNKNOWN_KID_RELOAD_SECONDS:
            await self.reload()
            key = self._keys.get(kid)
        if key is None or key.expires_at <= time.time():
            return None
        try:
            payload = jwt.decode(
                token,
                key.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "sub", "bid", "sid"]},
            )
            return AccessClaims(
                business_id=int(payload["bid"]),
                user_id=int(payload["sub"]),
                session_id=int(payload["sid"]),
            )
        except (jwt.InvalidTokenError, TypeError, ValueError):
            return None
