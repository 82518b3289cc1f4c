"""Operator commands: businesses and API keys.  They run as the database owner.

RLS is forced on the owner too, so even here each statement runs with the
tenant bound; a new business's id is drawn from its sequence first so that the
insert itself satisfies the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.identity import Role
from app.domain.money import minor_units_of
from app.services.api_keys import KeyRef, hash_secret, new_secret, parse_key_ref, token_for


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
