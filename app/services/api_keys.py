"""API keys: ``cl_<business>_<key>_<secret>``, stored only as SHA-256 of the secret.

The non-secret prefix ``cl_<business>_<key>`` is the key's id: it is what the
CLI prints, what ``key revoke`` takes, and what logs may show.  The secret has
256 bits of entropy, so a fast hash is enough (no password stretching needed).
``app.services.authenticator`` checks them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from app.domain.ids import parse_id

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
