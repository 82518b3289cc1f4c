"""Argon2id password hashes (argon2-cffi's defaults, RFC 9106's low-memory choice).

Hashing takes tens of milliseconds of CPU, so it runs in a thread: argon2-cffi
releases the GIL and the event loop keeps serving.  A sign-in for an email that
has no account verifies against ``DUMMY_HASH``, so that both answers take as long.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(hashed: str | None, password: str) -> bool:
    """Whether ``password`` matches ``hashed``; with no hash, as slow and ``False``."""
    try:
        matches = await asyncio.to_thread(_hasher.verify, hashed or DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and hashed is not None


def needs_rehash(hashed: str) -> bool:
    """Hashed with older parameters than today's: rehash at the next sign-in."""
    return _hasher.check_needs_rehash(hashed)


def one_time_password() -> str:
    """A password for a new or reset account: 96 random bits, shown once."""
    return secrets.token_urlsafe(12)
