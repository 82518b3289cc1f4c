"""Signing in: ``login``, ``refreshSession``, ``logout``, ``changePassword``
(``app.services.sessions``).  ``login`` and ``refreshSession`` need no
``Authorization``; a refresh token that is not valid any more (used, revoked,
expired, or not one of ours) is ``UNAUTHENTICATED``, like an access token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from app.client_address import client_address
from app.domain.identity import UserActor
from app.domain.results import Invalid
from app.domain.users import UserRecord
from app.graphql.audited import CALLER, audited
from app.graphql.common import InvalidInput
from app.graphql.context import Info
from app.graphql.permissions import SESSION
from app.graphql.users import User
from app.services import sessions as service
from app.services.unit_of_work import UnitOfWork


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type
class LoginSucceeded:
    access_token: str = strawberry.field(
        description="Send as `Authorization: Bearer <accessToken>` until `expiresAt`."
    )
    refresh_token: str = strawberry.field(
        description="Pass to `refreshSession` once, for the next pair; only its hash is stored."
    )
    expires_at: datetime
    user: User

    @classmethod
    def of(cls, signed_in: service.SignedIn) -> LoginSucceeded:
        return cls(
            access_token=signed_in.access_token,
            refresh_token=signed_in.refresh_token,
            expires_at=signed_in.expires_at,
            user=User.of(signed_in.user),
        )


@strawberry.type
class LoginFailed:
    message: str


@strawberry.type
class RateLimited:
    message: str
    retry_after_seconds: int

    @classmethod
    def of(cls, throttled: service.Throttled) -> RateLimited:
        return cls(message=throttled.message, retry_after_seconds=throttled.retry_after_seconds)


@strawberry.type
class PasswordChanged:
    user: User


LoginResult = Annotated[
    LoginSucceeded | LoginFailed | RateLimited | InvalidInput, strawberry.union("LoginResult")
]
ChangePasswordResult = Annotated[
    PasswordChanged | RateLimited | InvalidInput, strawberry.union("ChangePasswordResult")
]


def _sessions(info: Info) -> service.Sessions:
    sessions: service.Sessions = info.context.request.app.state.sessions
    return sessions


def _address(info: Info) -> str | None:
    request = info.context.request
    return client_address(request, trust_forwarded=request.app.state.trust_forwarded_headers)


def _signed_in(info: Info) -> tuple[UnitOfWork, UserActor]:
    actor = info.context.caller.actor
    assert isinstance(actor, UserActor)  # SESSION
    return info.context.uow(), actor


@strawberry.type
class SessionMutations:
    @strawberry.mutation(description="Sign in with an email and password.")
    @audited("User")
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        result = await _sessions(info).sign_in(
            email=input.email,
            password=input.password,
            address=_address(info),
            audit=info.context.audit,
        )
        match result:
            case service.SignedIn():
                return LoginSucceeded.of(result)
            case service.Throttled():
                return RateLimited.of(result)
            case Invalid():
                return InvalidInput.of(result)
            case service.Refused():
                return LoginFailed(message=result.message)

    @strawberry.mutation(
        description="Trade a refresh token for a new access token and refresh token.  "
        "A refresh token works once: using it again ends its session."
    )
    @audited("User")
    async def refresh_session(self, info: Info, refresh_token: str) -> LoginSucceeded:
        result = await _sessions(info).refresh(refresh_token, info.context.audit)
        if isinstance(result, service.Refused):
            raise StrawberryGraphQLError(result.message, extensions={"code": "UNAUTHENTICATED"})
        return LoginSucceeded.of(result)

    @strawberry.mutation(
        permission_classes=SESSION,
        description="End the session of the access token in use: its refresh token and "
        "access tokens stop working.",
    )
    @audited("User", by=CALLER)
    async def logout(self, info: Info) -> bool:
        uow, actor = _signed_in(info)
        await _sessions(info).sign_out(uow, session_id=actor.session_id)
        return True

    @strawberry.mutation(
        permission_classes=SESSION,
        description="Choose a new password (at least 10 characters, not a common one); "
        "the user's other sessions end.",
    )
    @audited("User", by=CALLER)
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordResult:
        uow, actor = _signed_in(info)
        result = await _sessions(info).change_password(
            uow, user_id=actor.user_id, session_id=actor.session_id, current=input.current_password,
            new=input.new_password, address=_address(info),
        )  # fmt: skip
        match result:
            case UserRecord():
                return PasswordChanged(user=User.of(result))
            case service.Throttled():
                return RateLimited.of(result)
            case Invalid():
                return InvalidInput.of(result)
