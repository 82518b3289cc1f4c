"""``sessions prune`` deletes sessions that ended long enough ago with their refresh
tokens, and sign-in throttle rows that no longer count; nothing else."""

from __future__ import annotations

import uuid

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.accounts import new_user, refresh, signed_in
from tests.conftest import Tenant
from tests.integration.test_verify_and_prune import cli

# Session -> how it ended, days ago (None: still open).
ENDINGS = {
    "expired long ago": ("expires_at", 40),
    "revoked long ago": ("revoked_at", 40),
    "expired lately": ("expires_at", 10),
    "open": None,
}


async def sessions_of(owner_db: AsyncEngine, business_id: int) -> list[int]:
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text("SELECT id FROM user_sessions WHERE business_id = :b ORDER BY id"),
            {"b": business_id},
        )
        return [row.id for row in rows]


async def tokens_of(owner_db: AsyncEngine, business_id: int) -> set[int]:
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text("SELECT DISTINCT session_id FROM refresh_tokens WHERE business_id = :b"),
            {"b": business_id},
        )
        return {row.session_id for row in rows}


async def test_ended_sessions_go_with_their_tokens_and_open_ones_stay(
    tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient, database_url: str
) -> None:
    _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
    refresh_tokens = [(await signed_in(http, email, password))["refreshToken"] for _ in ENDINGS]
    ids = dict(zip(ENDINGS, await sessions_of(owner_db, tenant.id), strict=True))
    async with owner_db.begin() as connection:
        for name, ending in ENDINGS.items():
            if ending is None:
                continue
            column, days = ending
            await connection.execute(
                text(
                    f"UPDATE user_sessions SET {column} = now() - make_interval(days => :d),"
                    " revoked_reason = CASE WHEN :revoked THEN 'logout' END WHERE id = :id"
                ),
                {"d": days, "revoked": column == "revoked_at", "id": ids[name]},
            )

    assert cli(database_url, "sessions", "prune", "--older-than-days", "0").returncode != 0
    pruned = cli(database_url, "sessions", "prune", "--json")
    assert pruned.returncode == 0, pruned.stderr
    report = orjson.loads(pruned.stdout)
    assert report["sessions"] >= 2
    assert report["refreshTokens"] >= 2
    kept = {ids["expired lately"], ids["open"]}
    assert set(await sessions_of(owner_db, tenant.id)) == kept
    assert await tokens_of(owner_db, tenant.id) == kept
    # The open session's token still refreshes.
    assert "errors" not in await refresh(http, refresh_tokens[-1])

    assert cli(database_url, "sessions", "prune", "--older-than-days", "5").returncode == 0
    assert await sessions_of(owner_db, tenant.id) == [ids["open"]]


async def test_only_throttle_rows_that_no_longer_count_are_deleted(
    owner_db: AsyncEngine, database_url: str
) -> None:
    tag = uuid.uuid4().hex
    rows = {
        f"email:stale-{tag}": (48, None),
        f"email:locked-{tag}": (48, 1),
        f"email:recent-{tag}": (0, None),
    }
    async with owner_db.begin() as connection:
        for subject, (age, lock) in rows.items():  # hours ago, hours ahead
            await connection.execute(
                text(
                    "INSERT INTO sign_in_throttle (subject, failures, window_start, locked_until)"
                    " VALUES (:s, 1, now() - make_interval(hours => :age),"
                    " now() + make_interval(hours => CAST(:lock AS integer)))"
                ),
                {"s": subject, "age": age, "lock": lock},
            )
    assert cli(database_url, "sessions", "prune").returncode == 0
    async with owner_db.connect() as connection:
        left = await connection.execute(
            text("SELECT subject FROM sign_in_throttle WHERE subject LIKE :like"),
            {"like": f"%-{tag}"},
        )
        assert {row.subject for row in left} == {f"email:locked-{tag}", f"email:recent-{tag}"}
