"""The audit trail: one entry per mutation, refusals included, append-only, per tenant."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.accounts import CHANGE_PASSWORD, login, new_user, signed_in
from tests.conftest import Tenant, post_graphql
from tests.corrections import VOID_ORDER, void_order
from tests.helpers import UPDATE_CUSTOMER, error_codes, make_customer, make_product
from tests.purchases import PURCHASE, buy, new_key, purchase_input

pytestmark = pytest.mark.both_routes

AUDIT_LOG = """
query($first: Int!, $after: String, $actorId: ID, $actorKind: ActorKind, $entityType: String,
      $entityId: ID, $from: DateTime, $to: DateTime) {
  auditLog(first: $first, after: $after, actorId: $actorId, actorKind: $actorKind,
           entityType: $entityType, entityId: $entityId, from: $from, to: $to) {
    edges { cursor node {
      id at actorId actorKind role requestId clientIp operation targetType targetId outcome
      input before after
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def audit_log(tenant: Tenant, **arguments: Any) -> list[dict[str, Any]]:
    """Every entry the filters select, newest first, read page by page."""
    entries: list[dict[str, Any]] = []
    after = None
    while True:
        data = await tenant.data(AUDIT_LOG, {"first": 3, "after": after, **arguments})
        page = data["auditLog"]
        entries += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return entries
        after = page["pageInfo"]["endCursor"]


def key_id(tenant: Tenant, role: Role) -> str:
    return tenant.keys[role].split("_")[2]


async def test_a_void_writes_one_entry_saying_who_did_what_from_where(tenant: Tenant) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant, stock=5)
    order = (await buy(tenant, customer, [(rice, 2)]))["order"]["id"]
    key = new_key()
    request = {"orderId": order, "reason": "Rung up twice", "idempotencyKey": key}

    response = await tenant.http.post(
        "/graphql",
        json={"query": VOID_ORDER, "variables": {"input": request}},
        headers={"Authorization": f"Bearer {tenant.keys[Role.OWNER]}", "X-Request-Id": "void-1"},
    )

    assert response.json()["data"]["voidOrder"]["__typename"] == "OrderVoided"
    [entry] = await audit_log(tenant, entityType="Order", entityId=order, actorKind="API_KEY",
                              actorId=key_id(tenant, Role.OWNER))  # fmt: skip
    assert entry["operation"] == "voidOrder"
    assert entry["outcome"] == "OrderVoided"
    assert (entry["actorKind"], entry["actorId"], entry["role"]) == (
        "API_KEY",
        key_id(tenant, Role.OWNER),
        "OWNER",
    )
    assert (entry["requestId"], entry["clientIp"]) == ("void-1", "127.0.0.1")
    assert (entry["targetType"], entry["targetId"]) == ("Order", order)
    assert entry["input"] == {"input": request}
    assert entry["before"] is None
    assert entry["at"].endswith("Z")


async def test_refusals_write_exactly_one_entry_each_and_nothing_else(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant, stock=5)
    order = (await buy(tenant, customer, [(rice, 2)]))["order"]["id"]
    assert (await void_order(tenant, order))["__typename"] == "OrderVoided"
    counts = await _counts(owner_db, tenant.id)

    again = await void_order(tenant, order)
    too_long = await void_order(tenant, order, reason="x" * 501)
    missing = await void_order(tenant, "999999")

    assert [again["__typename"], too_long["__typename"], missing["__typename"]] == [
        "AlreadyVoided", "InvalidInput", "NotFound"
    ]  # fmt: skip
    assert await _counts(owner_db, tenant.id) == {**counts, "audit_log": counts["audit_log"] + 3}
    entries = await audit_log(tenant, entityType="Order")
    assert [(e["operation"], e["outcome"], e["targetId"]) for e in entries[:4]] == [
        ("voidOrder", "NotFound", "999999"),
        ("voidOrder", "InvalidInput", order),
        ("voidOrder", "AlreadyVoided", order),
        ("voidOrder", "OrderVoided", order),
    ]


async def _counts(owner_db: AsyncEngine, business_id: int) -> dict[str, int]:
    tables = ("audit_log", "order_voids", "credit_ledger", "stock_movements", "refunds")
    counts = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM {table} WHERE business_id = :b" for table in tables
    )
    async with owner_db.connect() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
        )
        return dict((await connection.execute(text(counts), {"b": business_id})).all())


async def test_a_sale_and_a_refused_sale_are_each_written_by_the_sales_own_statement(
    tenant: Tenant,
) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant, stock=1)

    sold = await buy(tenant, customer, [(rice, 1)], role=Role.CASHIER)
    short = await buy(tenant, customer, [(rice, 1)], role=Role.CASHIER)
    invalid = await tenant.data(PURCHASE, purchase_input(customer, [(rice, 0)]))

    assert [sold["__typename"], short["__typename"]] == ["PurchaseCompleted", "InsufficientStock"]
    assert invalid["purchase"]["__typename"] == "InvalidInput"
    entries = await audit_log(tenant, actorId=key_id(tenant, Role.CASHIER), actorKind="API_KEY")
    purchases = [e for e in entries if e["operation"] == "purchase"]
    assert [(e["outcome"], e["targetType"], e["targetId"], e["role"]) for e in purchases] == [
        ("InsufficientStock", "Order", None, "CASHIER"),
        ("PurchaseCompleted", "Order", sold["order"]["id"], "CASHIER"),
    ]
    assert purchases[1]["input"]["input"]["items"] == [
        {"productId": rice, "quantity": 1, "discount": None}
    ]
    owner_entries = await audit_log(tenant, actorId=key_id(tenant, Role.OWNER),
                                    actorKind="API_KEY")  # fmt: skip
    assert owner_entries[0]["outcome"] == "InvalidInput"


async def test_an_update_records_the_values_it_changed_before_and_after(tenant: Tenant) -> None:
    customer = await make_customer(tenant, name="Asha", phone="111")

    await tenant.data(UPDATE_CUSTOMER, {"input": {"customerId": customer, "name": "Asha K"}})

    [update] = [
        e for e in await audit_log(tenant, entityType="Customer", entityId=customer)
        if e["operation"] == "updateCustomer"
    ]  # fmt: skip
    assert (update["before"], update["after"]) == ({"name": "Asha"}, {"name": "Asha K"})
    [created] = [e for e in await audit_log(tenant, entityType="Customer", entityId=customer)
                 if e["operation"] == "createCustomer"]  # fmt: skip
    assert created["outcome"] == "CustomerCreated"


async def test_sign_ins_are_recorded_under_the_user_without_the_password(
    tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    user_id, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)

    assert (await login(http, email, "not the password"))["__typename"] == "LoginFailed"
    token = (await signed_in(http, email, password))["accessToken"]
    change = {"input": {"currentPassword": password, "newPassword": "another long phrase"}}
    changed = await post_graphql(http, CHANGE_PASSWORD, change, token=token)
    assert changed["data"]["changePassword"]["__typename"] == "PasswordChanged"
    assert (await login(http, "nobody-" + email, password))["__typename"] == "LoginFailed"

    entries = await audit_log(tenant, actorId=user_id, actorKind="USER")
    assert [(e["operation"], e["outcome"], e["role"]) for e in entries] == [
        ("changePassword", "PasswordChanged", "CASHIER"),
        ("login", "LoginSucceeded", "CASHIER"),
        ("login", "LoginFailed", "CASHIER"),
    ]
    assert entries[2]["input"] == {"input": {"email": email, "password": "[redacted]"}}
    assert entries[0]["input"] == {
        "input": {"currentPassword": "[redacted]", "newPassword": "[redacted]"}
    }
    assert password not in str(entries)
    assert all(e["targetId"] == user_id for e in entries)


async def test_the_log_pages_and_filters_by_time_and_shows_no_other_tenants_entries(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    for name in ("A", "B", "C", "D"):
        await make_customer(tenant, name=name)
    await make_customer(other_tenant, name="Theirs")

    entries = await audit_log(tenant)

    assert [e["input"]["input"]["name"] for e in entries] == ["D", "C", "B", "A"]
    assert len({e["id"] for e in entries}) == 4
    middle = await audit_log(tenant, **{"from": entries[2]["at"], "to": entries[0]["at"]})
    assert [e["id"] for e in middle] == [entries[1]["id"], entries[2]["id"]]
    assert [e["input"]["input"]["name"] for e in await audit_log(other_tenant)] == ["Theirs"]
    bad = await tenant.gql(AUDIT_LOG, {"first": 500})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_entries_can_be_neither_changed_nor_deleted(
    tenant: Tenant, app_db: AsyncEngine, owner_db: AsyncEngine
) -> None:
    await make_customer(tenant)
    for engine in (app_db, owner_db):
        for statement in (
            "UPDATE audit_log SET outcome = 'x' WHERE business_id = :b",
            "DELETE FROM audit_log WHERE business_id = :b",
            "TRUNCATE audit_log",
            "TRUNCATE audit_log_default",
        ):
            async with engine.connect() as connection:
                await connection.execute(
                    text("SELECT set_config('app.business_id', :b, true)"), {"b": str(tenant.id)}
                )
                with pytest.raises(DBAPIError, match=r"append-only|permission denied"):
                    await connection.execute(text(statement), {"b": tenant.id})
    assert len(await audit_log(tenant)) == 1


CREATED_BY = """
query($actorId: ID!, $actorKind: ActorKind!) {
  auditLog(first: 5, actorId: $actorId, actorKind: $actorKind) { edges { node {
    operation createdBy { __typename ... on User { id email role } ... on ApiKey { id role } }
  } } }
}
"""


async def test_each_entry_names_its_actor_as_a_user_or_a_key_never_a_secret(
    tenant: Tenant, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> None:
    user_id, email, password = await new_user(owner_db, tenant.id, Role.CASHIER)
    await signed_in(http, email, password)
    await make_customer(tenant)
    key_id = tenant.keys[Role.OWNER].split("_")[2]

    by_user = await tenant.data(CREATED_BY, {"actorId": user_id, "actorKind": "USER"})
    by_key = await tenant.data(CREATED_BY, {"actorId": key_id, "actorKind": "API_KEY"})

    assert by_user["auditLog"]["edges"][0]["node"]["createdBy"] == {
        "__typename": "User", "id": user_id, "email": email, "role": "CASHIER",
    }  # fmt: skip
    created = [e["node"] for e in by_key["auditLog"]["edges"]]
    key = {"__typename": "ApiKey", "id": key_id, "role": "OWNER"}
    assert {"operation": "createCustomer", "createdBy": key} in created
    assert tenant.keys[Role.OWNER] not in str(created)


async def test_a_mutation_refused_for_the_callers_role_writes_one_forbidden_entry(
    tenant: Tenant,
) -> None:
    customer = await make_customer(tenant)
    rice = await make_product(tenant, stock=5)
    sale = purchase_input(customer, [(rice, 1)])
    refused = await tenant.gql(PURCHASE, sale, role=Role.VIEWER)
    void = {"input": {"orderId": "1", "reason": "no", "idempotencyKey": new_key()}}
    not_owner = await tenant.gql(VOID_ORDER, void, role=Role.CASHIER)

    assert error_codes(refused) == ["FORBIDDEN"]
    assert error_codes(not_owner) == ["FORBIDDEN"]
    by_viewer = await audit_log(tenant, actorId=key_id(tenant, Role.VIEWER), actorKind="API_KEY")
    assert [(e["operation"], e["outcome"], e["role"], e["targetType"]) for e in by_viewer] == [
        ("purchase", "FORBIDDEN", "VIEWER", "Order")
    ]
    assert by_viewer[0]["input"]["input"]["items"] == [
        {"productId": rice, "quantity": 1, "discount": None}
    ]
    by_cashier = await audit_log(tenant, actorId=key_id(tenant, Role.CASHIER), actorKind="API_KEY")
    assert [(e["operation"], e["outcome"]) for e in by_cashier] == [("voidOrder", "FORBIDDEN")]
    # Nothing else was written: the stock is untouched.
    assert (await tenant.data("query($id: ID!) { product(id: $id) { stock } }", {"id": rice}))[
        "product"
    ]["stock"] == 5
