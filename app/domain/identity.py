"""Who is calling: derived from the API key, never from the request body."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    OWNER = "owner"
    CLERK = "clerk"
    VIEWER = "viewer"

    @property
    def can_write(self) -> bool:
        return self is not Role.VIEWER


@dataclass(frozen=True)
class Business:
    id: int
    name: str
    currency: str
    minor_units: int
    payment_terms_days: int


@dataclass(frozen=True)
class Identity:
    business: Business
    role: Role
    key_id: int
