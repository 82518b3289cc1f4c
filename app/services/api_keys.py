"""API keys: ``cl_<business>_<key>_<secret>``, stored only as SHA-256 of the secret.

The non-secret prefix ``cl_<business>_<key>`` is the key's id: it is what the
CLI prints, what ``key revoke`` takes, and what logs may show.  The secret has
256 bits of entropy, so a fast hash is enough (no password stretching needed).

Successful authentications are cached in-process for ``AUTH_CACHE_SECONDS``, but
only while the cache can be told what changed: PostgreSQL announces every change
to a key or a business at commit (migration 0007), each worker listens
(``app.services.key_changes``) and forgets what changed, so a revoked key stops
working on every worker and instance within a second.  While the listener is not
known to be connected the cache is neither read nor filled: every request checks
its key in the database, and the cache starts empty once the listener is back.
A lookup that was under way when something changed is not cached (it may have
read the old row).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from app.db.driver_pool import DriverPool
from app.domain.identity import Business, Identity, Role
from app.domain.ids import parse_id
from app.services.unit_of_work import fetch

PREFIX = "cl"


@dataclass(frozen=True)
class KeyRef:
    business_id: int
    key_id: int

    @property
    def public_id(self) -> str:
        return f"{PREFIX}_{self.business_id}_{self.key_id}"


def parse_key_ref(raw: str) -> KeyRef | None:
    """Parse a key id (``cl_1_5``) or a whole token (its secret is ignored)."""
    parts = raw.strip().split("_", 3)
    if len(parts) < 3 or parts[0] != PREFIX:
        return None
    business_id, key_id = parse_id(parts[1]), parse_id(parts[2])
    if business_id is None or key_id is None:
        return None
    return KeyRef(business_id, key_id)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_for(ref: KeyRef, secret: str) -> str:
    return f"{ref.public_id}_{secret}"


_IDENTITY = (
    "SELECT role, name, currency, minor_units, payment_terms_days FROM api_key_identity($1, $2, $3)"
)


class Authenticator:
    def __init__(self, pool: DriverPool, cache_seconds: float) -> None:
        self._pool = pool
        self._cache_seconds = cache_seconds
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

    def forget(self, business_id: int | None = None, key_id: int | None = None) -> None:
        """Drop the cached keys of a business, or one of its keys; all without one."""
        self._generation += 1
        if business_id is None:
            self._cache.clear()
            return
        for token, (_, identity) in list(self._cache.items()):
            if identity.business.id == business_id and key_id in (None, identity.key_id):
                del self._cache[token]

    async def authenticate(self, authorization: str | None) -> Identity | None:
        """The identity behind an ``Authorization: Bearer`` header, or ``None``.

        ``TryAgain`` when a key not yet cached cannot be checked: no connection came
        free, or the database could not be reached."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            return None
        now = time.monotonic()
        if now < self._trusted_until:
            cached = self._cache.get(token)
            if cached is not None and cached[0] > now:
                return cached[1]
        generation = self._generation
        identity = await self._lookup(token)
        if (
            identity is not None
            and generation == self._generation
            and time.monotonic() < self._trusted_until
        ):
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + self._cache_seconds, identity)
        return identity

    async def _lookup(self, token: str) -> Identity | None:
        ref = parse_key_ref(token)
        parts = token.split("_", 3)
        if ref is None or len(parts) != 4 or not parts[3]:
            return None
        row = await fetch(
            self._pool.fetchrow, _IDENTITY, (ref.business_id, ref.key_id, hash_secret(parts[3]))
        )
        if row is None:
            return None
        business = Business(
            id=ref.business_id,
            name=row["name"],
            currency=row["currency"],
            minor_units=row["minor_units"],
            payment_terms_days=row["payment_terms_days"],
        )
        return Identity(business=business, role=Role(row["role"]), key_id=ref.key_id)
