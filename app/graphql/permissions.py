"""Who may do what (``app.domain.identity``'s role table).  Attached to fields;
resolvers never check roles by hand."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.domain.identity import Role
from app.graphql.context import Info


class IsAuthenticated(BasePermission):
    message = "Authentication required: send 'Authorization: Bearer <API key or access token>'."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.identity is not None


class CanWrite(BasePermission):
    """Owners and cashiers: sales, payments, customers."""

    message = "This role may not sell, take payments or change customers."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        return identity is not None and identity.role.may_sell


class CanKeepStock(BasePermission):
    """Owners, cashiers and stock staff: products."""

    message = "This role may only read."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        return identity is not None and identity.role.may_keep_stock


class IsOwner(BasePermission):
    message = "Only an owner may do this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        return identity is not None and identity.role is Role.OWNER


class IsSignedIn(BasePermission):
    """A user's access token, not an API key: for what only a session has."""

    message = "Only a signed-in user may do this, not an API key."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        return identity is not None and identity.user_id is not None


READ: list[type[BasePermission]] = [IsAuthenticated]
WRITE: list[type[BasePermission]] = [IsAuthenticated, CanWrite]
"""Sales, payments, customers."""
STOCK: list[type[BasePermission]] = [IsAuthenticated, CanKeepStock]
OWNER: list[type[BasePermission]] = [IsAuthenticated, IsOwner]
SESSION: list[type[BasePermission]] = [IsAuthenticated, IsSignedIn]
