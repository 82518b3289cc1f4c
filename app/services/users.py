"""A business's users: create, change, reset a password, list.  Owners only (the
GraphQL layer checks) or the operator's CLI (``app.services.admin``).

A deactivation, a password reset and a password change end the user's sessions:
their refresh tokens stop working, and the notification the change sends
(migration 0012) makes every worker forget the user's access tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.domain.identity import Role
from app.domain.results import Invalid, Missing
from app.domain.users import UserRecord
from app.services.retry import constraint_name
from app.services.unit_of_work import TENANT, UnitOfWork

USER_COLUMNS = "id, email, full_name, role, active, last_login_at, created_at"
EMAIL_TAKEN = Invalid.one("email", "is already in use")


def user_from_row(row: Any) -> UserRecord:
    return UserRecord(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        active=row["active"],
        last_login_at=row["last_login_at"],
        created_at=row["created_at"],
    )


_CREATE = text(
    "INSERT INTO users (business_id, email, full_name, role, password_hash)"
    f" VALUES ({TENANT}, :email, :full_name, :role, :hash) RETURNING {USER_COLUMNS}"
)


async def create_user(
    uow: UnitOfWork, *, email: str, full_name: str, role: Role, password_hash: str
) -> UserRecord | Invalid:
    """The new user; ``EMAIL_TAKEN`` if any business has a user with ``email`` (the
    transaction is then spoilt: leave it uncommitted)."""
    params = {"email": email, "full_name": full_name, "role": role.value, "hash": password_hash}
    try:
        row = (await uow.execute(_CREATE, params)).one()
    except IntegrityError as exc:
        if constraint_name(exc) in ("user_emails_pkey", "users_business_id_email_key"):
            return EMAIL_TAKEN
        raise
    uow.audit_target(row.id)
    return user_from_row(row._mapping)


_GET = text(f"SELECT {USER_COLUMNS} FROM users WHERE business_id = {TENANT} AND id = :id")


async def get_user(uow: UnitOfWork, user_id: int) -> UserRecord | None:
    row = (await uow.execute(_GET, {"id": user_id})).first()
    return None if row is None else user_from_row(row._mapping)


_BY_IDS = text(f"SELECT {USER_COLUMNS} FROM users WHERE business_id = {TENANT} AND id = ANY(:ids)")


async def get_users(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, UserRecord]:
    rows = await uow.execute(_BY_IDS, {"ids": list(ids)})
    return {row.id: user_from_row(row._mapping) for row in rows}


_END_SESSIONS = text(
    "UPDATE user_sessions SET revoked_at = now(), revoked_reason = :reason"
    f" WHERE business_id = {TENANT} AND user_id = :user_id AND revoked_at IS NULL"
    " AND id IS DISTINCT FROM :keep"
)


async def end_sessions(
    uow: UnitOfWork, user_id: int, reason: str, *, keep: int | None = None
) -> None:
    """Revoke the user's open sessions but ``keep``."""
    await uow.execute(_END_SESSIONS, {"user_id": user_id, "reason": reason, "keep": keep})


async def update_user(
    uow: UnitOfWork, *, user_id: int, role: Role | None, active: bool | None
) -> UserRecord | Missing:
    changes = {"role": None if role is None else role.value, "active": active}
    before = await get_user(uow, user_id)
    row = (
        await uow.execute(
            text(
                "UPDATE users SET role = coalesce(:role, role), active = coalesce(:active, active),"
                f" updated_at = now() WHERE business_id = {TENANT} AND id = :id"
                f" RETURNING {USER_COLUMNS}"
            ),
            {**changes, "id": user_id},
        )
    ).first()
    if row is None:
        return Missing("User", str(user_id))
    if active is False:
        await end_sessions(uow, user_id, "deactivated")
    updated = user_from_row(row._mapping)
    uow.audit_change(before, updated)
    return updated


_SET_PASSWORD = text(
    "UPDATE users SET password_hash = :hash, updated_at = now()"
    f" WHERE business_id = {TENANT} AND id = :id RETURNING {USER_COLUMNS}"
)


async def set_password(
    uow: UnitOfWork, *, user_id: int, password_hash: str, reason: str, keep: int | None = None
) -> UserRecord | Missing:
    """A new password for the user, whose sessions (but ``keep``) end."""
    row = (await uow.execute(_SET_PASSWORD, {"hash": password_hash, "id": user_id})).first()
    if row is None:
        return Missing("User", str(user_id))
    await end_sessions(uow, user_id, reason, keep=keep)
    return user_from_row(row._mapping)


_PAGE = text(
    f"SELECT {USER_COLUMNS} FROM users WHERE business_id = {TENANT}"
    " AND (CAST(:after_email AS text) IS NULL OR (email, id) > (:after_email, :after_id))"
    " ORDER BY email, id LIMIT :limit"
)


async def users_page(
    uow: UnitOfWork, *, limit: int, after: tuple[str, int] | None
) -> list[UserRecord]:
    """Users ordered by email, then id, after the ``(email, id)`` key."""
    email, id_ = after or (None, 0)
    rows = await uow.execute(_PAGE, {"after_email": email, "after_id": id_, "limit": limit})
    return [user_from_row(row._mapping) for row in rows]
