"""Attribution (issue 17 point 4): every order, payment, ledger entry, stock movement
and correction records the user or API key that wrote it, and ``createdBy`` shows
it (a ``User`` or an ``ApiKey``, never a secret)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services.api_keys import parse_key_ref
from tests.accounts import new_user, signed_in
from tests.conftest import Tenant
from tests.corrections import adjust_balance, adjust_stock, return_items, reverse_payment, sell
from tests.corrections import void_order as void
from tests.e2e.test_read_batching import FROM_THE_TEST, statements  # noqa: F401  (a fixture)
from tests.helpers import make_customer, make_product
from tests.purchases import pay, restock

pytestmark = pytest.mark.both_routes

ATTRIBUTED = (
    "orders",
    "payments",
    "credit_ledger",
    "stock_movements",
    "order_voids",
    "order_returns",
    "payment_reversals",
    "balance_adjustments",
    "refunds",
)

ACTOR = """
__typename
... on User { id fullName role }
... on ApiKey { id name role }
"""


class Caller:
    """A tenant's owner, calling as a signed-in user or with an API key."""

    def __init__(self, tenant: Tenant, token: str, user_id: int | None, key_id: int | None):
        self.tenant = Tenant(id=tenant.id, keys=dict.fromkeys(Role, token), http=tenant.http)
        self.token = token
        self.user_id = user_id
        self.key_id = key_id

    @property
    def expected(self) -> dict[str, Any]:
        if self.user_id is not None:
            return {"__typename": "User", "id": str(self.user_id), "role": "OWNER"}
        return {"__typename": "ApiKey", "id": str(self.key_id), "role": "OWNER", "name": None}


async def caller(
    kind: str, tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> Caller:
    if kind == "user":
        user_id, email, password = await new_user(owner_db, tenant.id, Role.OWNER)
        token = (await signed_in(http, email, password))["accessToken"]
        return Caller(tenant, token, int(user_id), None)
    token = tenant.keys[Role.OWNER]
    ref = parse_key_ref(token)
    assert ref is not None
    return Caller(tenant, token, None, ref.key_id)


@pytest.fixture(params=["user", "key"])
async def owner(
    request: pytest.FixtureRequest, tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> Caller:
    return await caller(request.param, tenant, owner_db, http)


async def every_kind_of_row(who: Caller) -> dict[str, str]:
    """Every write that records its author, done by ``who``; the ids worth reading back."""
    tenant = who.tenant
    customer = await make_customer(tenant, credit_limit="1000.00")
    rice = await make_product(tenant, price="10.00", stock=50)  # an initial movement
    assert (await restock(tenant, rice, 5))["__typename"] == "ProductRestocked"
    kept = await sell(tenant, customer, [(rice, 4)], paid=[("35.00", "CASH")])
    assert kept["__typename"] == "PurchaseCompleted", kept
    voided = await sell(tenant, customer, [(rice, 2)], paid=[("5.00", "UPI")])
    assert (await void(tenant, voided["order"]["id"]))["__typename"] == "OrderVoided"
    returned = await return_items(tenant, kept["order"]["id"], [(rice, 1)], refund_method="CASH")
    assert returned["__typename"] == "ItemsReturned", returned
    # The return lowered the balance (a ledger entry) and refunded the rest; nothing is
    # owed now, and this sale is on credit.
    assert (await sell(tenant, customer, [(rice, 1)]))["__typename"] == "PurchaseCompleted"
    payment = await pay(tenant, customer, "5.00", method="CHEQUE", role=Role.OWNER)
    assert payment["__typename"] == "PaymentRecorded", payment
    reversal = await reverse_payment(tenant, payment["payment"]["id"])
    assert reversal["__typename"] == "PaymentReversed", reversal
    adjusted = await adjust_balance(tenant, customer, "1.00", kind="CORRECTION")
    assert adjusted["__typename"] == "BalanceAdjusted", adjusted
    moved = await adjust_stock(tenant, rice, -1, reason="LOSS", role=Role.OWNER)
    assert moved["__typename"] == "StockAdjusted", moved
    return {
        "customer": customer,
        "kept": kept["order"]["id"],
        "voided": voided["order"]["id"],
        "payment": payment["payment"]["id"],
    }


async def authors(owner_db: AsyncEngine, business_id: int, table: str) -> set[tuple[Any, Any]]:
    """The distinct (user id, key id) pairs that ``table``'s rows of a business record."""
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text(
                f"SELECT DISTINCT created_by_user_id, created_by_key_id FROM {table}"
                " WHERE business_id = :b"
            ),
            {"b": business_id},
        )
        return {(row.created_by_user_id, row.created_by_key_id) for row in rows}


async def test_every_row_a_caller_writes_records_that_user_or_key(
    owner: Caller, owner_db: AsyncEngine
) -> None:
    await every_kind_of_row(owner)
    for table in ATTRIBUTED:
        # At least one row (a set of one pair), and every row names the caller alone.
        assert await authors(owner_db, owner.tenant.id, table) == {(owner.user_id, owner.key_id)}, (
            table
        )


ORDER = f"""
query($id: ID!) {{
  order(id: $id) {{
    createdBy {{ {ACTOR} }}
    voidedBy {{ {ACTOR} }}
    payments {{ createdBy {{ {ACTOR} }} }}
    returns {{ createdBy {{ {ACTOR} }} }}
    refunds {{ createdBy {{ {ACTOR} }} }}
  }}
}}
"""

LEDGER = f"""
query($id: ID!) {{
  customer(id: $id) {{
    ledger(first: 50) {{ edges {{ node {{
      kind createdBy {{ {ACTOR} }}
      payment {{ id createdBy {{ {ACTOR} }} reversedBy {{ {ACTOR} }} }}
    }} }} }}
  }}
}}
"""


def actors(answer: Any) -> list[dict[str, Any]]:
    """Every object of an answer that has a ``__typename`` of User or ApiKey."""
    if isinstance(answer, list):
        return [found for item in answer for found in actors(item)]
    if not isinstance(answer, dict):
        return []
    if answer.get("__typename") in ("User", "ApiKey"):
        return [answer]
    return [found for value in answer.values() for found in actors(value)]


async def test_created_by_shows_the_user_or_key_on_every_kind_of_row(owner: Caller) -> None:
    ids = await every_kind_of_row(owner)
    tenant = owner.tenant
    kept = (await tenant.data(ORDER, {"id": ids["kept"]}))["order"]
    voided = (await tenant.data(ORDER, {"id": ids["voided"]}))["order"]
    assert kept["voidedBy"] is None
    assert kept["returns"]
    assert kept["refunds"]
    assert kept["payments"]
    assert voided["voidedBy"]
    assert voided["refunds"]
    data = await tenant.data(LEDGER, {"id": ids["customer"]})
    entries = [edge["node"] for edge in data["customer"]["ledger"]["edges"]]
    assert {entry["kind"] for entry in entries} == {
        "CHARGE",
        "PAYMENT",
        "REVERSAL",
        "RETURN",
        "ADJUSTMENT",
    }
    assert all(entry["createdBy"] for entry in entries)
    payments = [entry["payment"] for entry in entries if entry["payment"]]
    assert all(payment["createdBy"] for payment in payments)
    assert [p["id"] for p in payments if p["reversedBy"]] == [ids["payment"]]
    found = actors([kept, voided, data])
    # Every createdBy, voidedBy and reversedBy asked for above, and each is the caller.
    assert len(found) == 3 + 3 + 2 + len(entries) + len(payments) + 1
    expected = owner.expected
    for actor in found:
        assert {key: actor[key] for key in expected} == expected, actor


async def test_the_answers_of_corrections_name_their_author(owner: Caller) -> None:
    tenant = owner.tenant
    customer = await make_customer(tenant)
    rice = await make_product(tenant, stock=5)
    await sell(tenant, customer, [(rice, 1)])
    moved = await tenant.data(
        f"""mutation($input: AdjustStockInput!) {{ adjustStock(input: $input) {{
              ... on StockAdjusted {{ movement {{ createdBy {{ {ACTOR} }} }} }} }} }}""",
        {"input": {"productId": rice, "change": 1, "reason": "COUNT", "idempotencyKey": "m1"}},
    )
    adjusted = await tenant.data(
        f"""mutation($input: AdjustBalanceInput!) {{ adjustBalance(input: $input) {{
              ... on BalanceAdjusted {{ adjustment {{ createdBy {{ {ACTOR} }} }} }} }} }}""",
        {
            "input": {
                "customerId": customer,
                "amount": "1.00",
                "kind": "WRITE_OFF",
                "reason": "Goodwill",
                "idempotencyKey": "a1",
            },
        },
    )
    sold = await tenant.data(
        f"""mutation($input: PurchaseInput!) {{ purchase(input: $input) {{
              ... on PurchaseCompleted {{ order {{ createdBy {{ {ACTOR} }}
                                                    payments {{ createdBy {{ {ACTOR} }} }} }} }}
            }} }}""",
        {
            "input": {
                "customerId": customer,
                "items": [{"productId": rice, "quantity": 1}],
                "payments": [{"amount": "1.00", "method": "CASH"}],
                "idempotencyKey": "p1",
            },
        },
    )
    found = actors([moved, adjusted, sold])
    assert len(found) == 4
    for actor in found:
        assert {key: actor[key] for key in owner.expected} == owner.expected


async def test_a_replayed_sale_names_whoever_made_it_first(
    tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    by_key = await caller("key", tenant, owner_db, http)
    by_user = await caller("user", tenant, owner_db, http)
    customer = await make_customer(tenant)
    rice = await make_product(tenant)
    request = {
        "input": {
            "customerId": customer,
            "items": [{"productId": rice, "quantity": 1}],
            "idempotencyKey": "same",
        },
    }
    sale = f"""mutation($input: PurchaseInput!) {{ purchase(input: $input) {{
                 ... on PurchaseCompleted {{ order {{ createdBy {{ {ACTOR} }} }} }} }} }}"""
    first = await by_key.tenant.data(sale, request)
    again = await by_user.tenant.data(sale, request)
    assert first == again
    assert first["purchase"]["order"]["createdBy"]["__typename"] == "ApiKey"


async def test_no_secret_appears_in_an_answer_about_authors(
    tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    by_key = await caller("key", tenant, owner_db, http)
    by_user = await caller("user", tenant, owner_db, http)
    customer = await make_customer(tenant)
    rice = await make_product(tenant)
    first = await sell(by_key.tenant, customer, [(rice, 1)])
    second = await sell(by_user.tenant, customer, [(rice, 1)])
    whole = """
      __typename
      ... on User { id email fullName role active lastLoginAt createdAt }
      ... on ApiKey { id name role }
    """
    query = f"""query($a: ID!, $b: ID!) {{
      a: order(id: $a) {{ createdBy {{ {whole} }} }}
      b: order(id: $b) {{ createdBy {{ {whole} }} }}
    }}"""
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": {"a": first["order"]["id"], "b": second["order"]["id"]}},
        headers={"Authorization": f"Bearer {tenant.keys[Role.OWNER]}"},
    )
    body = response.text
    assert "errors" not in response.json(), body
    assert '"ApiKey"' in body
    assert '"User"' in body
    secret = by_key.token.split("_", 3)[3]
    digest = hashlib.sha256(secret.encode()).digest()
    for leaked in (secret, digest.hex(), "$argon2", "secret", "hash", "password"):
        assert leaked not in body
    async with owner_db.connect() as connection:
        password_hash = (
            await connection.execute(
                text("SELECT password_hash FROM users WHERE id = :id"), {"id": by_user.user_id}
            )
        ).scalar_one()
    assert password_hash not in body
    fields = await tenant.data('{ __type(name: "ApiKey") { fields { name } } }')
    assert {field["name"] for field in fields["__type"]["fields"]} == {"id", "name", "role"}


async def test_a_colleague_sees_who_did_it_but_not_their_email_or_last_sign_in(
    tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    owner_id, owner_email, password = await new_user(owner_db, tenant.id, Role.OWNER)
    owner_token = (await signed_in(http, owner_email, password))["accessToken"]
    cashier_id, cashier_email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
    cashier_token = (await signed_in(http, cashier_email, password))["accessToken"]
    customer = await make_customer(tenant)
    rice = await make_product(tenant)
    by_owner = Tenant(id=tenant.id, keys=dict.fromkeys(Role, owner_token), http=tenant.http)
    by_cashier = Tenant(id=tenant.id, keys=dict.fromkeys(Role, cashier_token), http=tenant.http)
    owners_sale = (await sell(by_owner, customer, [(rice, 1)]))["order"]["id"]
    cashiers_sale = (await sell(by_cashier, customer, [(rice, 1)]))["order"]["id"]

    async def author(token: str, order: str, fields: str) -> dict[str, Any]:
        query = "query($id: ID!) { order(id: $id) { createdBy { ... on User { %s } } } }"
        response = await http.post(
            "/graphql",
            json={"query": query % fields, "variables": {"id": order}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        return body

    who = "id fullName role"
    for token in (cashier_token, tenant.keys[Role.VIEWER], tenant.keys[Role.CASHIER]):
        answer = await author(token, owners_sale, who)
        assert "errors" not in answer, answer
        shown = answer["data"]["order"]["createdBy"]
        assert (shown["id"], shown["role"]) == (owner_id, "OWNER"), answer
        for field in ("email", "lastLoginAt"):
            refused = await author(token, owners_sale, f"{who} {field}")
            # email is non-null: its refusal takes the whole author with it.
            kept = None if field == "email" else {**shown, field: None}
            assert refused["data"] == {"order": {"createdBy": kept}}, refused
            [error] = refused["errors"]
            assert error["extensions"]["code"] == "FORBIDDEN", error
            assert error["path"] == ["order", "createdBy", field], error
    # Owners manage users and see them whole; a user sees their own details.
    whole = f"{who} email lastLoginAt"
    for token, order, email in (
        (tenant.keys[Role.OWNER], cashiers_sale, cashier_email),
        (owner_token, cashiers_sale, cashier_email),
        (cashier_token, cashiers_sale, cashier_email),
        (tenant.keys[Role.OWNER], owners_sale, owner_email),
    ):
        answer = await author(token, order, whole)
        assert "errors" not in answer, answer
        assert answer["data"]["order"]["createdBy"]["email"] == email
        author_id = cashier_id if order == cashiers_sale else owner_id
        assert answer["data"]["order"]["createdBy"]["id"] == author_id
        assert answer["data"]["order"]["createdBy"]["lastLoginAt"] is not None


async def test_rows_from_before_attribution_name_nobody(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant)
    async with owner_db.begin() as connection:
        # As a sale written before 0018: purchase() called without its new arguments.
        answer = (
            await connection.execute(
                text(
                    "SELECT purchase(:b, :c, ARRAY[:p]::bigint[], '{1}', '{0}', 0, '{}', '{}',"
                    " '{}', NULL, NULL, 'old', 'h', NULL)"
                ),
                {"b": tenant.id, "c": int(customer), "p": int(rice)},
            )
        ).scalar_one()
    if isinstance(answer, str):
        answer = json.loads(answer)
    order = str(answer["order"]["id"])
    data = await tenant.data(ORDER, {"id": order})
    assert data["order"]["createdBy"] is None
    assert data["order"]["voidedBy"] is None


async def test_the_authors_of_a_page_cost_two_statements_whatever_its_size(
    tenant: Tenant,
    owner_db: AsyncEngine,
    http: httpx.AsyncClient,
    statements: list[str],  # noqa: F811  (the fixture imported above)
) -> None:
    customer = await make_customer(tenant, credit_limit="100000.00")
    rice = await make_product(tenant, stock=1000)
    callers = [await caller("user", tenant, owner_db, http) for _ in range(3)]
    callers.append(await caller("key", tenant, owner_db, http))
    orders = f"""query($id: ID!, $first: Int!) {{ customer(id: $id) {{
        orders(first: $first) {{ edges {{ node {{ createdBy {{ {ACTOR} }} }} }} }} }} }}"""
    ledger = f"""query($id: ID!, $first: Int!) {{ customer(id: $id) {{
        ledger(first: $first) {{ edges {{ node {{ createdBy {{ {ACTOR} }} }} }} }} }} }}"""
    for who in callers * 4:
        await sell(who.tenant, customer, [(rice, 1)])
    FROM_THE_TEST.set(True)
    for page, field in ((orders, "orders"), (ledger, "ledger")):
        for first in (2, 16):
            statements.clear()
            data = await tenant.data(page, {"id": customer, "first": first})
            edges = data["customer"][field]["edges"]
            assert len(edges) == first
            # Even the first two name both a user and a key.
            assert {edge["node"]["createdBy"]["__typename"] for edge in edges} == {"User", "ApiKey"}
            # The page's authors in one batch: one statement for the users, one for the keys
            # (what else runs is the page's own cost).
            authors = [
                sql for sql in statements if " FROM users " in sql or " FROM api_keys " in sql
            ]
            assert len(authors) == 2, statements
