"""Tenant isolation behind a transaction-pooling PgBouncer, and that each route is real.

Behind PgBouncer in transaction mode a session serves many clients' transactions in
turn, so nothing a transaction leaves on its session may matter to the next one:
two tenants reading their customer pages in turn, through two server connections,
must each see exactly their own customers, every time.
"""

from __future__ import annotations

import asyncio
import itertools

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.config import Settings
from tests.conftest import Tenant
from tests.helpers import make_customer

pytestmark = pytest.mark.isolation

PAGE = "{ customers(first: 50) { edges { node { id name } } } }"
REQUESTS = 3_000
CLIENTS = 16


async def test_two_tenants_in_turn_see_only_their_own_customers(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    owners = {}
    for business, prefix in ((tenant, "Alpha"), (other_tenant, "Beta")):
        for n in range(5):
            owners[await make_customer(business, name=f"{prefix} {n}")] = business.id
    expected = {
        business.id: {customer for customer, owner in owners.items() if owner == business.id}
        for business in (tenant, other_tenant)
    }
    turns = itertools.cycle((tenant, other_tenant))
    foreign: list[str] = []
    errors: list[object] = []
    answered = 0

    async def client() -> None:
        nonlocal answered
        while answered < REQUESTS:
            business = next(turns)
            answered += 1
            answer = await business.gql(PAGE)
            if "errors" in answer:
                errors.append(answer["errors"])
                continue
            seen = {edge["node"]["id"] for edge in answer["data"]["customers"]["edges"]}
            foreign.extend(sorted(seen - expected[business.id]))
            if seen != expected[business.id]:
                errors.append({"business": business.id, "seen": sorted(seen)})

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    assert answered >= REQUESTS
    assert foreign == []
    assert errors == []


async def test_each_route_is_what_it_claims(route: str, settings: Settings) -> None:
    """The pooler route goes through PgBouncer; the no-rls database has RLS off."""
    service = make_url(settings.service_url())
    assert settings.behind_pooler == (route == "pgbouncer")
    assert (service.port != 5432) == (route == "pgbouncer")
    owner = make_url(settings.database_url or "").set(drivername="postgresql")
    with psycopg.connect(owner.render_as_string(hide_password=False)) as connection:
        row = connection.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE oid = 'customers'::regclass"
        ).fetchone()
    assert row == ((False, False) if route == "no-rls" else (True, True))
