"""Signing in and out: passwords for a pair of tokens, refresh, logout, new password.

A sign-in opens a session, the family of its refresh tokens, and answers a
15-minute access token (``app.services.access_tokens``) and a refresh token
``clr_<business>_<token>_<secret>`` (only SHA-256 of the secret is stored: 256
random bits need no stretching).  Each refresh uses its token up and answers the
next pair; a token used a second time means two parties hold the family, so the
whole session is revoked, and its access tokens stop working with it.

An unknown email, an inactive account and a wrong password get the same answer
after the same work: the password is verified against a stored hash or a dummy
one.  Sign-in attempts are throttled per email and client address
(``app.services.rate_limits``) before any password is looked at.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.domain.audit import AuditDraft
from app.domain.ids import parse_id
from app.domain.passwords import password_problem, unusable
from app.domain.results import Invalid, Problems
from app.domain.users import UserRecord, email_problem, normalize_email
from app.services import users
from app.services.access_tokens import AccessClaims, SigningKeys
from app.services.api_keys import hash_secret
from app.services.passwords import hash_password, needs_rehash, verify_password
from app.services.rate_limits import SignInThrottle, retry_after, sign_in_subjects
from app.services.unit_of_work import TENANT, UnitOfWork, fetch

REFRESH_PREFIX = "clr"
REUSE_OUTCOME = "UNAUTHENTICATED"
"""The audit outcome of a reused refresh token, whose session this ends (the API's
error code for it)."""
SIGN_IN_REFUSED = "The email or password is not right."


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user: UserRecord


@dataclass(frozen=True)
class Refused:
    message: str = SIGN_IN_REFUSED


@dataclass(frozen=True)
class Throttled:
    retry_after_seconds: int

    @property
    def message(self) -> str:
        return f"Too many attempts; try again in {self.retry_after_seconds} s."


@dataclass(frozen=True)
class RefreshRef:
    business_id: int
    token_id: int
    secret: str


def parse_refresh_token(raw: str) -> RefreshRef | None:
    parts = raw.strip().split("_", 3)
    if len(parts) != 4 or parts[0] != REFRESH_PREFIX or not 20 <= len(parts[3]) <= 100:
        return None
    business_id, token_id = parse_id(parts[1]), parse_id(parts[2])
    if business_id is None or token_id is None:
        return None
    return RefreshRef(business_id, token_id, parts[3])


_USER_FOR_SIGN_IN = text(
    f"SELECT {users.USER_COLUMNS}, password_hash FROM users"
    f" WHERE business_id = {TENANT} AND id = :id"
)
_SIGNED_IN = text(
    "UPDATE users SET last_login_at = now(), password_hash = coalesce(:rehash, password_hash)"
    f" WHERE business_id = {TENANT} AND id = :id RETURNING {users.USER_COLUMNS}"
)
_OPEN_SESSION = text(
    "INSERT INTO user_sessions (business_id, user_id, expires_at)"
    f" VALUES ({TENANT}, :user_id, now() + make_interval(secs => :seconds)) RETURNING id"
)
_NEW_REFRESH_TOKEN = text(
    "INSERT INTO refresh_tokens (business_id, session_id, secret_hash)"
    f" VALUES ({TENANT}, :session_id, :hash) RETURNING id"
)
_REFRESH_TOKEN = text(
    "SELECT t.session_id, t.secret_hash, t.used_at, s.user_id, s.revoked_at,"
    " s.expires_at > now() AS live, u.active, u.role"
    " FROM refresh_tokens t"
    " JOIN user_sessions s ON s.business_id = t.business_id AND s.id = t.session_id"
    " JOIN users u ON u.business_id = s.business_id AND u.id = s.user_id"
    f" WHERE t.business_id = {TENANT} AND t.id = :id FOR UPDATE OF t, s"
)
_USE_REFRESH_TOKEN = text(
    f"UPDATE refresh_tokens SET used_at = now() WHERE business_id = {TENANT} AND id = :id"
)
_END_SESSION = text(
    "UPDATE user_sessions SET revoked_at = now(), revoked_reason = :reason"
    f" WHERE business_id = {TENANT} AND id = :id AND revoked_at IS NULL"
)
_SIGN_IN_BUSINESS = "SELECT business_id, user_id FROM sign_in_business($1)"
_PASSWORD_HASH = text(
    f"SELECT email, password_hash FROM users WHERE business_id = {TENANT} AND id = :id"
)


class Sessions:
    def __init__(
        self,
        engine: AsyncEngine,
        pool: DriverPool,
        signing_keys: SigningKeys,
        throttle: SignInThrottle,
        *,
        session_seconds: int,
    ) -> None:
        self._engine = engine
        self._pool = pool
        self._keys = signing_keys
        self._throttle = throttle
        self._session_seconds = session_seconds

    async def sign_in(
        self, *, email: str, password: str, address: str | None, audit: AuditDraft | None = None
    ) -> SignedIn | Refused | Throttled | Invalid:
        """``audit``: the attempt's entry, which names the user once the email is theirs."""
        email = normalize_email(email)
        problems = Problems()
        if problem := email_problem(email):
            problems.add("email", problem)
        if problem := unusable(password):
            problems.add("password", problem)
        if invalid := problems.result():
            return invalid
        subjects = sign_in_subjects(email, address)
        locked = await self._throttle.locked_for(subjects)
        if locked > 0:
            return Throttled(retry_after(locked))
        found = await fetch(self._pool.fetchrow, _SIGN_IN_BUSINESS, (email,))
        if found is None:
            await verify_password(None, password)
            await self._throttle.failed(subjects)
            return Refused()
        async with UnitOfWork(self._engine, found["business_id"], audit=audit) as uow:
            row = (await uow.execute(_USER_FOR_SIGN_IN, {"id": found["user_id"]})).first()
            if audit is not None and row is not None:
                _attempt_by(audit, uow.business_id, row.id, row.role)
            stored = None if row is None else row.password_hash
            if not await verify_password(stored, password) or row is None or not row.active:
                await self._throttle.failed(subjects)
                return Refused()
            rehash = await hash_password(password) if needs_rehash(row.password_hash) else None
            signed_in = await uow.execute(_SIGNED_IN, {"id": row.id, "rehash": rehash})
            user = users.user_from_row(signed_in.one()._mapping)
            session_id = (
                await uow.execute(
                    _OPEN_SESSION, {"user_id": user.id, "seconds": float(self._session_seconds)}
                )
            ).scalar_one()
            refresh_token = await self._new_refresh_token(uow, session_id)
            await uow.commit()
        await self._throttle.succeeded(email)
        return self._signed_in(uow.business_id, session_id, user, refresh_token)

    async def refresh(self, raw_token: str, audit: AuditDraft | None = None) -> SignedIn | Refused:
        """The next pair for a refresh token; a reused one ends its whole session.
        ``audit``: the attempt's entry, which names the user once the token is theirs."""
        ref = parse_refresh_token(raw_token)
        if ref is None:
            return Refused("The refresh token is not valid.")
        async with UnitOfWork(self._engine, ref.business_id, audit=audit) as uow:
            row = (await uow.execute(_REFRESH_TOKEN, {"id": ref.token_id})).first()
            if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(ref.secret)):
                return Refused("The refresh token is not valid.")
            if audit is not None:
                _attempt_by(audit, uow.business_id, row.user_id, row.role)
            if row.used_at is not None:
                if audit is not None:
                    audit.success = REUSE_OUTCOME  # committed, yet answered as a refusal
                await uow.execute(_END_SESSION, {"id": row.session_id, "reason": "reuse"})
                await uow.commit()
                return Refused("The refresh token was already used; the session is ended.")
            if row.revoked_at is not None or not row.live or not row.active:
                return Refused("The session has ended; sign in again.")
            await uow.execute(_USE_REFRESH_TOKEN, {"id": ref.token_id})
            refresh_token = await self._new_refresh_token(uow, row.session_id)
            user = await users.get_user(uow, row.user_id)
            assert user is not None
            await uow.commit()
        return self._signed_in(ref.business_id, row.session_id, user, refresh_token)

    async def sign_out(self, uow: UnitOfWork, *, session_id: int) -> None:
        async with uow:
            await uow.execute(_END_SESSION, {"id": session_id, "reason": "logout"})
            await uow.commit()

    async def change_password(
        self,
        uow: UnitOfWork,
        *,
        user_id: int,
        session_id: int,
        current: str,
        new: str,
        address: str | None,
    ) -> UserRecord | Throttled | Invalid:
        """A new password, checked against the current one; the user's other sessions end."""
        if problem := unusable(current):
            return Invalid.one("currentPassword", problem)
        if problem := password_problem(new):
            return Invalid.one("newPassword", problem)
        async with uow:
            row = (await uow.execute(_PASSWORD_HASH, {"id": user_id})).one()
            subjects = sign_in_subjects(row.email, address)
            locked = await self._throttle.locked_for(subjects)
            if locked > 0:
                return Throttled(retry_after(locked))
            if not await verify_password(row.password_hash, current):
                await self._throttle.failed(subjects)
                return Invalid.one("currentPassword", "is not this account's password")
            result = await users.set_password(
                uow, user_id=user_id, password_hash=await hash_password(new),
                reason="password", keep=session_id,
            )  # fmt: skip
            assert isinstance(result, UserRecord)
            await uow.commit()
        return result

    async def _new_refresh_token(self, uow: UnitOfWork, session_id: int) -> str:
        secret = secrets.token_urlsafe(32)
        token_id = (
            await uow.execute(
                _NEW_REFRESH_TOKEN, {"session_id": session_id, "hash": hash_secret(secret)}
            )
        ).scalar_one()
        return f"{REFRESH_PREFIX}_{uow.business_id}_{token_id}_{secret}"

    def _signed_in(
        self, business_id: int, session_id: int, user: UserRecord, refresh_token: str
    ) -> SignedIn:
        claims = AccessClaims(business_id=business_id, user_id=user.id, session_id=session_id)
        access_token, expires = self._keys.issue(claims)
        return SignedIn(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=datetime.fromtimestamp(expires, UTC),
            user=user,
        )


def _attempt_by(audit: AuditDraft, business_id: int, user_id: int, role: str) -> None:
    """A sign-in's entry belongs to the user whose email or token it used."""
    audit.business_id = business_id
    audit.actor_user_id = user_id
    audit.role = role
    audit.target_id = user_id
