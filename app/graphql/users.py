"""A business's users: ``me``, and for owners ``users``, ``createUser``,
``updateUser`` and ``resetPassword``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.domain.identity import Role as DomainRole
from app.domain.results import Missing, Problems
from app.domain.users import MAX_NAME_LENGTH, UserRecord, email_problem, normalize_email
from app.graphql.audited import audited
from app.graphql.common import InvalidInput, NotFound, gid, read_id, read_text
from app.graphql.context import Info
from app.graphql.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    connection,
    decode_name_id,
    encode_cursor,
    page_size,
)
from app.graphql.permissions import OWNER, READ, SeesUserDetails
from app.graphql.viewer import Role
from app.services import users as service
from app.services.passwords import hash_password, one_time_password

CURSOR_KIND = "users"


DETAILS = "Owners, and the user themselves, only: for anyone else, FORBIDDEN."


@strawberry.type
class User:
    id: strawberry.ID
    email: str = strawberry.field(permission_classes=[SeesUserDetails], description=DETAILS)
    full_name: str
    role: Role
    active: bool
    last_login_at: datetime | None = strawberry.field(
        permission_classes=[SeesUserDetails], description=DETAILS
    )
    created_at: datetime
    details_hidden: strawberry.Private[bool] = False
    """Shown as a colleague's attribution to someone neither an owner nor this user."""

    @classmethod
    def of(cls, record: UserRecord, *, details_hidden: bool = False) -> User:
        return cls(
            id=gid(record.id),
            email=record.email,
            full_name=record.full_name,
            role=Role(record.role.value),
            active=record.active,
            last_login_at=record.last_login_at,
            created_at=record.created_at,
            details_hidden=details_hidden,
        )


@strawberry.input
class CreateUserInput:
    email: str
    full_name: str
    role: Role


@strawberry.input
class UpdateUserInput:
    user_id: strawberry.ID
    role: Role | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class UserCreated:
    user: User
    one_time_password: str = strawberry.field(
        description="Shown once: only its hash is stored.  Give it to the user to sign in."
    )


@strawberry.type
class UserUpdated:
    user: User


@strawberry.type
class PasswordReset:
    user: User
    one_time_password: str = strawberry.field(
        description="Shown once; the user's sessions have ended."
    )


CreateUserResult = Annotated[UserCreated | InvalidInput, strawberry.union("CreateUserResult")]
UpdateUserResult = Annotated[
    UserUpdated | NotFound | InvalidInput, strawberry.union("UpdateUserResult")
]
ResetPasswordResult = Annotated[
    PasswordReset | NotFound | InvalidInput, strawberry.union("ResetPasswordResult")
]


@strawberry.type
class UserQueries:
    @strawberry.field(
        permission_classes=READ,
        description="The signed-in user; null for an API key.",
    )
    async def me(self, info: Info) -> User | None:
        user_id = info.context.caller.user_id
        if user_id is None:
            return None
        async with info.context.uow() as uow:
            record = await service.get_user(uow, user_id)
        return None if record is None else User.of(record)

    @strawberry.field(permission_classes=OWNER, description="Users ordered by email, then id.")
    async def users(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[User]:
        limit = page_size(first)
        key = decode_name_id(after, CURSOR_KIND)
        async with info.context.uow() as uow:
            records = await service.users_page(uow, limit=limit + 1, after=key)
        return connection(
            records,
            limit,
            cursor=lambda record: encode_cursor(CURSOR_KIND, record.email, record.id),
            node=User.of,
        )


def _own(info: Info, user_id: int) -> bool:
    return info.context.caller.user_id == user_id


@strawberry.type
class UserMutations:
    @strawberry.mutation(permission_classes=OWNER)
    @audited("User")
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserResult:
        problems = Problems()
        email = normalize_email(input.email)
        if problem := email_problem(email):
            problems.add("email", problem)
        name = read_text(
            input.full_name, "fullName", problems, max_length=MAX_NAME_LENGTH, required=True
        )
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        assert name is not None
        password = one_time_password()
        hashed = await hash_password(password)
        async with info.context.uow() as uow:
            result = await service.create_user(
                uow, email=email, full_name=name, role=DomainRole(input.role.value),
                password_hash=hashed,
            )  # fmt: skip
            if isinstance(result, UserRecord):
                await uow.commit()
        if not isinstance(result, UserRecord):
            return InvalidInput.of(result)
        return UserCreated(user=User.of(result), one_time_password=password)

    @strawberry.mutation(
        permission_classes=OWNER,
        description="Change a user's role, or deactivate (ending their sessions) or "
        "reactivate them.  Owners cannot change their own account this way.",
    )
    @audited("User", by="userId")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UpdateUserResult:
        problems = Problems()
        user_id = read_id(input.user_id, "userId", problems)
        if input.role is None:
            problems.add("role", "must not be null")
        if input.active is None:
            problems.add("active", "must not be null")
        if user_id and _own(info, user_id):
            problems.add("userId", "is your own account")
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        role = None if not input.role else DomainRole(input.role.value)
        active = None if input.active is strawberry.UNSET else input.active
        async with info.context.uow() as uow:
            result = await service.update_user(uow, user_id=user_id, role=role, active=active)
            if isinstance(result, UserRecord):
                await uow.commit()
        if isinstance(result, Missing):
            return NotFound.of(result)
        return UserUpdated(user=User.of(result))

    @strawberry.mutation(
        permission_classes=OWNER,
        description="A new one-time password for a user; their sessions end.",
    )
    @audited("User", by="userId")
    async def reset_password(self, info: Info, user_id: strawberry.ID) -> ResetPasswordResult:
        problems = Problems()
        id_ = read_id(user_id, "userId", problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        password = one_time_password()
        hashed = await hash_password(password)
        async with info.context.uow() as uow:
            result = await service.set_password(
                uow, user_id=id_, password_hash=hashed, reason="reset"
            )
            if isinstance(result, UserRecord):
                await uow.commit()
        if isinstance(result, Missing):
            return NotFound.of(result)
        return PasswordReset(user=User.of(result), one_time_password=password)
