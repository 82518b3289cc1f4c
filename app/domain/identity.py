"""Who is calling: an API key or a signed-in user, never anything in the request body.

A role says what its holder may do, for keys and users alike (docs/api.md, "Calling the API"):

========================================================  =====  =======  =====  ======
                                                          owner  cashier  staff  viewer
========================================================  =====  =======  =====  ======
reads                                                     yes    yes      yes    yes
sales, payments; customers (not their credit limits)      yes    yes
products: create, update, restock                         yes    yes      yes
credit limits, users, everything else an owner decides    yes
========================================================  =====  =======  =====  ======
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple


class Role(Enum):
    OWNER = "owner"
    CASHIER = "cashier"
    STAFF = "staff"
    VIEWER = "viewer"
    CLERK = "cashier"  # noqa: PIE796  (an alias on purpose)
    """The cashier's name until staff accounts came (an alias: ``Role.CLERK is
    Role.CASHIER``), so that code written against it still reads right."""

    @property
    def may_sell(self) -> bool:
        """Sales, payments, customers."""
        return self in (Role.OWNER, Role.CASHIER)

    @property
    def may_keep_stock(self) -> bool:
        """Products: create, update, restock."""
        return self is not Role.VIEWER


@dataclass(frozen=True)
class Business:
    id: int
    name: str
    currency: str
    minor_units: int
    payment_terms_days: int


@dataclass(frozen=True)
class ApiKeyActor:
    key_id: int


@dataclass(frozen=True)
class UserActor:
    user_id: int
    session_id: int
    """The sign-in (refresh token family) the access token belongs to."""


Actor = ApiKeyActor | UserActor


class CreatedBy(NamedTuple):
    """Who wrote a row, as the row stores it (migration 0018): a user or an API key,
    never both; neither (``NOBODY``) for rows written before attribution existed or
    by the operator's CLI."""

    user_id: int | None = None
    key_id: int | None = None


NOBODY = CreatedBy()


@dataclass(frozen=True)
class Identity:
    business: Business
    role: Role
    actor: Actor

    @property
    def key_id(self) -> int | None:
        return self.actor.key_id if isinstance(self.actor, ApiKeyActor) else None

    @property
    def user_id(self) -> int | None:
        return self.actor.user_id if isinstance(self.actor, UserActor) else None

    @property
    def created_by(self) -> CreatedBy:
        """What the rows this caller writes record as their author."""
        return CreatedBy(self.user_id, self.key_id)
