"""Who may do what.  Attached to fields; resolvers never check roles by hand."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.domain.identity import Role
from app.graphql.context import Info


class IsAuthenticated(BasePermission):
    message = "Authentication required: send 'Authorization: Bearer <API key>'."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.identity is not None


class CanWrite(BasePermission):
    """Owners and clerks: customers, products, purchases, payments."""

    message = "This API key's role may only read."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        return identity is not None and identity.role.can_write


class IsOwner(BasePermission):
    message = "Only an owner key may do this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = info.context.identity
        return identity is not None and identity.role is Role.OWNER


READ: list[type[BasePermission]] = [IsAuthenticated]
WRITE: list[type[BasePermission]] = [IsAuthenticated, CanWrite]
OWNER: list[type[BasePermission]] = [IsAuthenticated, IsOwner]
