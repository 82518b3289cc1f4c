"""Operator commands: businesses, API keys and users.  They run as the database owner.

RLS is forced on the owner too, so even here each statement runs with the
tenant bound; a new business's id is drawn from its sequence first so that the
insert itself satisfies the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.identity import Role
from app.domain.money import minor_units_of
from app.domain.results import Invalid
from app.domain.users import MAX_NAME_LENGTH, UserRecord, email_problem, normalize_email
from app.services import users
from app.services.api_keys import KeyRef, hash_secret, new_secret, parse_key_ref, token_for
from app.services.passwords import hash_password, one_time_password
from app.services.unit_of_work import UnitOfWork


class AdminError(Exception):
    """An operator command that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class NewKey:
    ref: KeyRef
    role: Role
    token: str


async def _bind(connection: AsyncConnection, business_id: int) -> None:
    await connection.execute(
        text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
    )


async def create_business(
    engine: AsyncEngine, *, name: str, currency: str = "INR", terms_days: int = 30
) -> int:
    name, currency = name.strip(), currency.strip().upper()
    if not 1 <= len(name) <= 200:
        raise AdminError("name must be 1 to 200 characters")
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise AdminError("currency must be a three-letter ISO 4217 code")
    if not 0 <= terms_days <= 3650:
        raise AdminError("terms must be between 0 and 3650 days")
    async with engine.begin() as connection:
        business_id = (
            await connection.execute(
                text("SELECT nextval(pg_get_serial_sequence('businesses', 'id'))")
            )
        ).scalar_one()
        await _bind(connection, business_id)
        await connection.execute(
            text(
                "INSERT INTO businesses (id, name, currency, currency_minor_units,"
                " payment_terms_days) VALUES (:id, :name, :currency, :minor, :terms)"
            ),
            {
                "id": business_id,
                "name": name,
                "currency": currency,
                "minor": minor_units_of(currency),
                "terms": terms_days,
            },
        )
    return int(business_id)


async def create_key(
    engine: AsyncEngine, *, business_id: int, role: Role, name: str | None = None
) -> NewKey:
    secret = new_secret()
    async with engine.begin() as connection:
        await _bind(connection, business_id)
        exists = (
            await connection.execute(
                text("SELECT 1 FROM businesses WHERE id = :b"), {"b": business_id}
            )
        ).first()
        if exists is None:
            raise AdminError(f"business {business_id} does not exist")
        key_id = (
            await connection.execute(
                text(
                    "INSERT INTO api_keys (business_id, role, secret_hash, name)"
                    " VALUES (:b, :role, :hash, :name) RETURNING id"
                ),
                {"b": business_id, "role": role.value, "hash": hash_secret(secret), "name": name},
            )
        ).scalar_one()
    ref = KeyRef(business_id, int(key_id))
    return NewKey(ref=ref, role=role, token=token_for(ref, secret))


async def revoke_key(engine: AsyncEngine, key: str) -> KeyRef:
    ref = parse_key_ref(key)
    if ref is None:
        raise AdminError("a key id looks like cl_<business>_<key>")
    async with engine.begin() as connection:
        await _bind(connection, ref.business_id)
        revoked = (
            await connection.execute(
                text(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                    " WHERE business_id = :b AND id = :k RETURNING id"
                ),
                {"b": ref.business_id, "k": ref.key_id},
            )
        ).first()
    if revoked is None:
        raise AdminError(f"key {ref.public_id} does not exist")
    return ref


@dataclass(frozen=True)
class NewPassword:
    business_id: int
    user: UserRecord
    one_time_password: str


async def create_user(
    engine: AsyncEngine, *, business_id: int, email: str, role: Role, full_name: str | None = None
) -> NewPassword:
    email = normalize_email(email)
    if problem := email_problem(email):
        raise AdminError(f"email {problem}")
    name = (full_name or email).strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise AdminError(f"name must be 1 to {MAX_NAME_LENGTH} characters")
    password = one_time_password()
    hashed = await hash_password(password)
    async with UnitOfWork(engine, business_id) as uow:
        exists = await uow.execute(text("SELECT 1 FROM businesses WHERE id = :business_id"))
        if exists.first() is None:
            raise AdminError(f"business {business_id} does not exist")
        created = await users.create_user(
            uow, email=email, full_name=name, role=role, password_hash=hashed
        )
        if isinstance(created, Invalid):
            raise AdminError(f"email {email} is already in use")
        await uow.commit()
    return NewPassword(business_id, created, password)


async def reset_password(engine: AsyncEngine, *, email: str) -> NewPassword:
    """A new one-time password for the user with ``email``; their sessions end."""
    email = normalize_email(email)
    async with engine.connect() as connection:
        found = (
            await connection.execute(
                text("SELECT business_id, user_id FROM sign_in_business(:email)"), {"email": email}
            )
        ).first()
    if found is None:
        raise AdminError(f"no user has the email {email}")
    password = one_time_password()
    hashed = await hash_password(password)
    async with UnitOfWork(engine, found.business_id) as uow:
        user = await users.set_password(
            uow, user_id=found.user_id, password_hash=hashed, reason="reset"
        )
        assert isinstance(user, UserRecord)
        await uow.commit()
    return NewPassword(found.business_id, user, password)


@dataclass(frozen=True)
class BusinessRow:
    id: int
    name: str
    currency: str
    payment_terms_days: int
    created_at: datetime


@dataclass(frozen=True)
class KeyRow:
    """What an operator may see of a key: never its secret or the secret's hash."""

    ref: KeyRef
    role: Role
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


_BUSINESSES = text(
    "SELECT id, name, currency, payment_terms_days, created_at FROM businesses ORDER BY id"
)
_KEYS = text(
    "SELECT id, role, name, created_at, revoked_at FROM api_keys WHERE business_id = :b ORDER BY id"
)


async def list_businesses(engine: AsyncEngine) -> list[BusinessRow]:
    """Every business, as ``verify`` sees them: the owner must not be subject to RLS
    (a superuser, or a role with ``BYPASSRLS``)."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_BUSINESSES)).all()
    return [
        BusinessRow(row.id, row.name, row.currency, row.payment_terms_days, row.created_at)
        for row in rows
    ]


async def list_keys(engine: AsyncEngine, business_ids: list[int] | None = None) -> list[KeyRow]:
    """The keys of the given businesses (else of every one), each business's read with
    its tenant bound."""
    if business_ids is None:
        business_ids = [business.id for business in await list_businesses(engine)]
    keys: list[KeyRow] = []
    async with engine.begin() as connection:
        for business_id in business_ids:
            await _bind(connection, business_id)
            for row in await connection.execute(_KEYS, {"b": business_id}):
                role = Role.CASHIER if row.role == "clerk" else Role(row.role)
                ref = KeyRef(business_id, int(row.id))
                keys.append(KeyRow(ref, role, row.name, row.created_at, row.revoked_at))
    return keys
