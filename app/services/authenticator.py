"""Who is behind ``Authorization: Bearer``: an API key, or a user's access token.

An API key (``app.services.api_keys``) is checked against its hash; an access token
(``app.services.access_tokens``) by its signature, and then its user must still be
active and its session open.  Either way, what the database said is cached
in-process for ``AUTH_CACHE_SECONDS``, but only while the cache can be told what
changed: PostgreSQL announces every change to a key, a business, a user or a
session at commit (migrations 0007 and 0012), each worker listens
(``app.services.key_changes``) and forgets what changed, so a revoked key, a
deactivated user or a changed role takes effect on every worker and instance
within a second.  While the listener is not known to be connected the cache is
neither read nor filled: every request asks the database, and the cache starts
empty once the listener is back.  A lookup that was under way when something
changed is not cached (it may have read the old row).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.db.driver_pool import DriverPool
from app.domain.identity import Actor, ApiKeyActor, Business, Identity, Role, UserActor
from app.services.access_tokens import AccessClaims, SigningKeys
from app.services.api_keys import hash_secret, parse_key_ref
from app.services.unit_of_work import fetch

MAX_KEY_LENGTH = 200
MAX_ACCESS_TOKEN_LENGTH = 2000
_COLUMNS = "role, name, currency, minor_units, payment_terms_days"
_KEY_IDENTITY = f"SELECT {_COLUMNS} FROM api_key_identity($1, $2, $3)"
_USER_IDENTITY = f"SELECT {_COLUMNS} FROM user_identity($1, $2, $3)"


class Authenticator:
    def __init__(
        self, pool: DriverPool, cache_seconds: float, signing_keys: SigningKeys | None = None
    ) -> None:
        self._pool = pool
        self._cache_seconds = cache_seconds
        self._signing_keys = signing_keys
        self._cache: dict[str, tuple[float, Identity]] = {}
        self._trusted_until = 0.0
        """Monotonic time until which the cache may be used: the listener's lease."""
        self._generation = 0
        """Bumped by every invalidation, so a lookup it overtook is not cached."""

    def trust_cache_until(self, deadline: float) -> None:
        """The listener was alive and listening; after a gap, the cache starts empty."""
        if time.monotonic() >= self._trusted_until:
            self.forget()
        self._trusted_until = deadline

    def distrust_cache(self) -> None:
        """The listener is gone: notifications may be lost until it is back."""
        self._trusted_until = 0.0
        self.forget()

    def forget(
        self, business_id: int | None = None, *, key_id: int | None = None,
        user_id: int | None = None,
    ) -> None:  # fmt: skip
        """Drop what is cached of a business, or of one of its keys or users; all
        without a business."""
        self._generation += 1
        if business_id is None:
            self._cache.clear()
            return
        for token, (_, identity) in list(self._cache.items()):
            if identity.business.id != business_id:
                continue
            if (key_id is None and user_id is None) or (
                (key_id is not None and identity.key_id == key_id)
                or (user_id is not None and identity.user_id == user_id)
            ):
                del self._cache[token]

    async def authenticate(self, authorization: str | None) -> Identity | None:
        """The identity behind an ``Authorization: Bearer`` header, or ``None``.

        ``TryAgain`` when a key or user not yet cached cannot be checked: no
        connection came free, or the database could not be reached."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_ACCESS_TOKEN_LENGTH:
            return None
        if token.count(".") == 2:
            return await self._access_token(token)
        if len(token) > MAX_KEY_LENGTH:
            return None
        return await self._cached(token, lambda: self._key(token))

    async def _access_token(self, token: str) -> Identity | None:
        claims = None if self._signing_keys is None else await self._signing_keys.verify(token)
        if claims is None:
            return None
        cache_key = f"user {claims.business_id} {claims.user_id} {claims.session_id}"
        return await self._cached(cache_key, lambda: self._user(claims))

    async def _cached(
        self, cache_key: str, lookup: Callable[[], Awaitable[Identity | None]]
    ) -> Identity | None:
        now = time.monotonic()
        if now < self._trusted_until:
            cached = self._cache.get(cache_key)
            if cached is not None and cached[0] > now:
                return cached[1]
        generation = self._generation
        identity = await lookup()
        if (
            identity is not None
            and generation == self._generation
            and time.monotonic() < self._trusted_until
        ):
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = (now + self._cache_seconds, identity)
        return identity

    async def _key(self, token: str) -> Identity | None:
        ref = parse_key_ref(token)
        parts = token.split("_", 3)
        if ref is None or len(parts) != 4 or not parts[3]:
            return None
        args = (ref.business_id, ref.key_id, hash_secret(parts[3]))
        return await self._identity(_KEY_IDENTITY, args, ApiKeyActor(ref.key_id))

    async def _user(self, claims: AccessClaims) -> Identity | None:
        args = (claims.business_id, claims.user_id, claims.session_id)
        actor = UserActor(claims.user_id, claims.session_id)
        return await self._identity(_USER_IDENTITY, args, actor)

    async def _identity(self, sql: str, args: tuple[Any, ...], actor: Actor) -> Identity | None:
        row = await fetch(self._pool.fetchrow, sql, args)
        if row is None:
            return None
        business = Business(
            id=args[0],
            name=row["name"],
            currency=row["currency"],
            minor_units=row["minor_units"],
            payment_terms_days=row["payment_terms_days"],
        )
        return Identity(business=business, role=Role(row["role"]), actor=actor)
