"""API keys: ``cl_<business>_<key>_<secret>``, stored only as SHA-256 of the secret.

The non-secret prefix ``cl_<business>_<key>`` is the key's id: it is what the
CLI prints, what ``key revoke`` takes, and what logs may show.  The secret has
256 bits of entropy, so a fast hash is enough (no password stretching needed).

Successful authentications are cached in-process for ``AUTH_CACHE_SECONDS``: a
revoked key stops working within that many seconds on every instance.
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
        self._cache: dict[str, tuple[float, Identity | None]] = {}

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
        cached = self._cache.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        identity = await self._lookup(token)
        if identity is not None and self._cache_seconds > 0:
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
