"""What a password must be: 10 to 1,024 characters, and not a common one.

The upper bound is checked before any hashing, so a 10 KB password is refused at
once and never costs an Argon2 pass over it.  The common passwords are those of
Django's list long enough to pass the length check (``common_passwords.txt``),
compared case-insensitively and ignoring surrounding spaces, as Django does.
"""

from __future__ import annotations

import functools
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 1024
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("# "))


def unusable(password: str) -> str | None:
    """Why ``password`` cannot even be checked (too long, not UTF-8), or ``None``."""
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    try:
        password.encode()
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be chosen, or ``None`` when it may."""
    if problem := unusable(password):
        return problem
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if password.strip().lower() in _common():
        return "is too common"
    return None
