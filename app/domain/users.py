"""A business's users: what an email must look like, and what a user is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.identity import Role

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200


def normalize_email(raw: str) -> str:
    """Emails are compared and stored lower-cased and trimmed."""
    return raw.strip().lower()


def email_problem(email: str) -> str | None:
    """Why a normalized ``email`` cannot be an account's, or ``None``."""
    if len(email) > MAX_EMAIL_LENGTH:
        return f"must be at most {MAX_EMAIL_LENGTH} characters"
    local, at, domain = email.rpartition("@")
    if not (at and local and domain) or any(c.isspace() or not c.isprintable() for c in email):
        return "is not an email address"
    return None


@dataclass(frozen=True)
class UserRecord:
    id: int
    email: str
    full_name: str
    role: Role
    active: bool
    last_login_at: datetime | None
    created_at: datetime
