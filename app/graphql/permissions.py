"""Who may do what (``app.domain.identity``'s role table).  Attached to fields;
resolvers never check roles by hand."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.domain.identity import Identity, Role
from app.graphql.audited import FORBIDDEN, note_refusal
from app.graphql.context import Info


class IsAuthenticated(BasePermission):
    message = "Authentication required: send 'Authorization: Bearer <API key or access token>'."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.identity is not None


class _Refusing(BasePermission):
    """A role check whose refusals of a mutation are audited (``app.graphql.audited``)."""

    error_extensions = {"code": FORBIDDEN}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        if identity is not None and self.allows(identity):
            return True
        note_refusal(info, kwargs)
        return False

    def allows(self, identity: Identity) -> bool:
        raise NotImplementedError


class CanWrite(_Refusing):
    """Owners and cashiers: sales, payments, customers."""

    message = "This role may not sell, take payments or change customers."

    def allows(self, identity: Identity) -> bool:
        return identity.role.may_sell


class CanKeepStock(_Refusing):
    """Owners, cashiers and stock staff: products."""

    message = "This role may only read."

    def allows(self, identity: Identity) -> bool:
        return identity.role.may_keep_stock


class IsOwner(_Refusing):
    message = "Only an owner may do this."

    def allows(self, identity: Identity) -> bool:
        return identity.role is Role.OWNER


class IsSignedIn(_Refusing):
    """A user's access token, not an API key: for what only a session has."""

    message = "Only a signed-in user may do this, not an API key."

    def allows(self, identity: Identity) -> bool:
        return identity.user_id is not None


class SeesUserDetails(BasePermission):
    """A user's email and last sign-in: for owners, who manage users, and for the user
    themselves.  Attribution shows anyone else who did something (name and role), not
    how to reach them: attribution marks with ``User.details_hidden`` the users it shows
    to someone else (``shown_to``), and this refuses their details."""

    message = "Only an owner, or the user themselves, may see a user's email and last sign-in."
    error_extensions = {"code": FORBIDDEN}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return not source.details_hidden

    @staticmethod
    def shown_to(identity: Identity | None, user_id: int) -> bool:
        """Whether ``identity`` sees the details of user ``user_id``."""
        return identity is not None and (identity.role is Role.OWNER or identity.user_id == user_id)


READ: list[type[BasePermission]] = [IsAuthenticated]
WRITE: list[type[BasePermission]] = [IsAuthenticated, CanWrite]
"""Sales, payments, customers."""
STOCK: list[type[BasePermission]] = [IsAuthenticated, CanKeepStock]
OWNER: list[type[BasePermission]] = [IsAuthenticated, IsOwner]
SESSION: list[type[BasePermission]] = [IsAuthenticated, IsSignedIn]
