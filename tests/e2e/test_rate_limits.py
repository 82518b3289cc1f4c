"""Requests per API key or user are limited across workers, counted in PostgreSQL.

Each worker counts in memory and adds its counts up in PostgreSQL every
``RATE_LIMIT_SYNC_SECONDS`` (``app.services.rate_limits``): two services on one
database here stand for two workers or instances.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.accounts import new_user, signed_in
from tests.conftest import new_tenant
from tests.e2e.test_sign_in import serving
from tests.helpers import VIEWER

SYNC = 0.1
WINDOW = 3_600
"""Windows are whole multiples of this since the epoch: long, so that a test all but
never straddles the start of one, which would forget the counts it checks (with the
default minute, about one run in 40 did)."""


async def _viewer(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )


def _limited(response: httpx.Response) -> bool:
    if response.status_code != 429:
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        return False
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW
    return True


async def test_a_key_over_its_limit_is_refused_until_its_window_ends_and_others_are_not(
    owner_db: AsyncEngine, database_url: str
) -> None:
    async with serving(
        database_url, rate_limit_requests=5, rate_limit_window_seconds=WINDOW
    ) as make:
        client = make()
        tenant = await new_tenant(owner_db, client)
        _, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
        user_token = (await signed_in(client, email, password))["accessToken"]
        key = tenant.keys[Role.CASHIER]

        answers = [_limited(await _viewer(client, key)) for _ in range(7)]

        assert answers == [False] * 5 + [True] * 2
        assert not _limited(await _viewer(client, tenant.keys[Role.OWNER]))
        assert not _limited(await _viewer(client, user_token)), "users are counted on their own"
        for _ in range(4):
            await _viewer(client, user_token)
        assert _limited(await _viewer(client, user_token))


async def test_two_workers_share_a_limit_within_one_sync_interval(
    owner_db: AsyncEngine, database_url: str
) -> None:
    settings = {
        "rate_limit_requests": 10,
        "rate_limit_sync_seconds": SYNC,
        "rate_limit_window_seconds": WINDOW,
    }
    async with (
        serving(database_url, **settings) as first,
        serving(database_url, **settings) as second,
    ):
        a, b = first(), second()
        tenant = await new_tenant(owner_db, a)
        key = tenant.keys[Role.VIEWER]

        assert not any([_limited(await _viewer(a, key)) for _ in range(6)])
        await asyncio.sleep(3 * SYNC)
        admitted_by_b = 0
        while not _limited(await _viewer(b, key)):
            admitted_by_b += 1
            await asyncio.sleep(SYNC / 2)
            assert admitted_by_b < 10, "the other worker's counts were never seen"
        # B saw A's six within a sync: it admitted at most its own share of ten plus
        # what it served in one sync interval.
        assert 4 <= admitted_by_b <= 6

        await asyncio.sleep(5 * SYNC)
        assert _limited(await _viewer(a, key)), "A learnt of B's requests at its last sync"
