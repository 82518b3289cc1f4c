"""``viewer``: the business and role behind the API key or access token in use."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.graphql.common import gid
from app.graphql.context import Info
from app.graphql.permissions import READ


@strawberry.enum(
    description='What a key or user may do (docs/api.md, "Staff accounts and signing in").'
)
class Role(Enum):
    OWNER = "owner"
    CASHIER = "cashier"
    STAFF = "staff"
    VIEWER = "viewer"


@strawberry.type
class Business:
    id: strawberry.ID
    name: str
    currency: str
    payment_terms_days: int


@strawberry.type
class Viewer:
    business: Business
    role: Role


@strawberry.type
class ViewerQueries:
    @strawberry.field(permission_classes=READ)
    def viewer(self, info: Info) -> Viewer:
        identity = info.context.caller
        business = identity.business
        return Viewer(
            business=Business(
                id=gid(business.id),
                name=business.name,
                currency=business.currency,
                payment_terms_days=business.payment_terms_days,
            ),
            role=Role(identity.role.value),
        )
