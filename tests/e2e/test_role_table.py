"""The role table, cell by cell: every query and mutation, for every role, called
with an API key and with a signed-in user's access token.

=========================================================  =====  =======  =====  ======
                                                           owner  cashier  staff  viewer
=========================================================  =====  =======  =====  ======
reads, the dashboard                                       yes    yes      yes    yes
sales, payments; customers (not their credit limits)       yes    yes
products: create, update, restock                          yes    yes      yes
credit limits, users, voids, reversals, write-offs, audit  yes
analytics, statements, report files                        yes
=========================================================  =====  =======  =====  ======

A call the role may not make gets ``FORBIDDEN`` and writes nothing, not even an
audit entry (but for a credit limit, which the mutation itself refuses and audits);
a call it may make writes exactly one audit entry, naming the caller,
the role and the answer's type.  ``logout`` and
``changePassword`` belong to a session (every signed-in user, no API key);
``login`` and ``refreshSession`` need no caller (``test_sign_in.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.accounts import (
    CHANGE_PASSWORD,
    CREATE_USER,
    LOGOUT,
    ME,
    RESET_PASSWORD,
    UPDATE_USER,
    USERS,
    new_email,
    new_user,
    signed_in,
    staffed_tenant,
)
from tests.conftest import Tenant, new_tenant, post_graphql
from tests.corrections import (
    ADJUST_BALANCE,
    ADJUST_STOCK,
    RETURN_ITEMS,
    REVERSE_PAYMENT,
    VOID_ORDER,
    archive_mutation,
    set_archived,
)
from tests.helpers import (
    CREATE_CUSTOMER,
    CREATE_PRODUCT,
    CUSTOMER,
    PRODUCT,
    RESTOCK_PRODUCT,
    UPDATE_CUSTOMER,
    UPDATE_PRODUCT,
    VIEWER,
    error_codes,
    make_customer,
    make_product,
    row_counts,
)
from tests.purchases import PURCHASE, RECORD_PAYMENT, buy, new_key, pay, purchase_input

ROLES = list(Role)
EVERYONE = frozenset(Role)
SELLERS = frozenset({Role.OWNER, Role.CASHIER})
STOCK_KEEPERS = frozenset({Role.OWNER, Role.CASHIER, Role.STAFF})
OWNERS = frozenset({Role.OWNER})


@dataclass(frozen=True)
class Ids:
    customer: str
    product: str
    user: str
    order: str = "1"
    payment: str = "1"


@dataclass(frozen=True)
class Call:
    name: str
    document: str
    variables: Callable[[Ids], dict[str, Any]]
    allowed: frozenset[Role]
    success: str | None = None
    """The result's ``__typename`` for a mutation; ``None`` for a query."""


QUERIES = [
    Call("viewer", VIEWER, lambda _: {}, EVERYONE),
    Call("customer", CUSTOMER, lambda i: {"id": i.customer}, EVERYONE),
    Call("customers", "{ customers { edges { node { id } } } }", lambda _: {}, EVERYONE),
    Call("balances", "query($ids: [ID!]!) { balances(customerIds: $ids) { balance } }",
         lambda i: {"ids": [i.customer]}, EVERYONE),
    Call("overdueCustomers", "{ overdueCustomers { edges { node { balance } } } }",
         lambda _: {}, EVERYONE),
    Call("agingReport", "{ agingReport { total } }", lambda _: {}, EVERYONE),
    Call("product", PRODUCT, lambda i: {"id": i.product}, EVERYONE),
    Call("products", "{ products { edges { node { id } } } }", lambda _: {}, EVERYONE),
    Call("products filtered and sorted",
         '{ products(search: "ric", lowStock: false, sortBy: STOCK, sortOrder: DESC)'
         " { edges { node { id } } } }", lambda _: {}, EVERYONE),
    Call("productByBarcode", '{ productByBarcode(barcode: "8901234567890") { id } }',
         lambda _: {}, EVERYONE),
    Call("categories", "{ categories { name productCount } }", lambda _: {}, EVERYONE),
    Call("lowStockProducts", "{ lowStockProducts { edges { node { minimum } } } }",
         lambda _: {}, EVERYONE),
    Call("expiringProducts", "{ expiringProducts(withinDays: 30) { edges { node { daysLeft } } } }",
         lambda _: {}, EVERYONE),
    Call("order", "query($id: ID!) { order(id: $id) { id } }", lambda _: {"id": "1"}, EVERYONE),
    Call("orderByNumber", '{ orderByNumber(number: "BILL-2026-000001") { id } }', lambda _: {},
         EVERYONE),
    Call("settings", "{ settings { name timeZone } }", lambda _: {}, EVERYONE),
    Call("me", ME, lambda _: {}, EVERYONE),
    Call("users", USERS, lambda _: {"first": 5}, OWNERS),
    Call("dashboard", "{ dashboard { sales { billsCount } alerts { lowStock { name } } } }",
         lambda _: {}, EVERYONE),
    Call("salesSummary", '{ salesSummary(from: "2026-01-01", to: "2026-01-31") { net } }',
         lambda _: {}, OWNERS),
    Call("collectionsSummary",
         '{ collectionsSummary(from: "2026-01-01", to: "2026-01-31") { net } }',
         lambda _: {}, OWNERS),
    Call("topProducts", '{ topProducts(from: "2026-01-01", to: "2026-01-31") { revenue } }',
         lambda _: {}, OWNERS),
    Call("topCustomers", '{ topCustomers(from: "2026-01-01", to: "2026-01-31") { total } }',
         lambda _: {}, OWNERS),
    Call("Customer.statement",
         'query($id: ID!) { customer(id: $id) {'
         ' statement(from: "2026-01-01", to: "2026-01-31") { closingBalance } } }',
         lambda i: {"id": i.customer}, OWNERS),
    Call("taxSummary", '{ taxSummary(from: "2026-01-01", to: "2026-01-31") { taxAmount } }',
         lambda _: {}, OWNERS),
    Call("auditLog", "{ auditLog(first: 5) { edges { node { id operation outcome } } } }",
         lambda _: {}, OWNERS),
]  # fmt: skip

PRODUCT_DETAILS = (
    "query($id: ID!) { details: product(id: $id) { category minStock status updatedAt } }"
)

UPDATE_SETTINGS = """
mutation($input: UpdateSettingsInput!) {
  updateSettings(input: $input) { __typename }
}
"""

MUTATIONS = [
    Call("createCustomer", CREATE_CUSTOMER, lambda _: {"input": {"name": "New"}}, SELLERS,
         "CustomerCreated"),
    Call("createCustomer with creditLimit", CREATE_CUSTOMER,
         lambda _: {"input": {"name": "New", "creditLimit": "50.00"}}, OWNERS,
         "CustomerCreated"),
    Call("updateCustomer", UPDATE_CUSTOMER,
         lambda i: {"input": {"customerId": i.customer, "name": "Renamed"}}, SELLERS,
         "CustomerUpdated"),
    Call("updateCustomer with creditLimit", UPDATE_CUSTOMER,
         lambda i: {"input": {"customerId": i.customer, "creditLimit": "1.00"}}, OWNERS,
         "CustomerUpdated"),
    Call("createProduct", CREATE_PRODUCT,
         lambda _: {"input": {"name": "Oil", "sku": uuid.uuid4().hex[:12], "price": "3.50",
                              "stock": 4}}, STOCK_KEEPERS, "ProductCreated"),
    Call("updateProduct", UPDATE_PRODUCT,
         lambda i: {"input": {"productId": i.product, "price": "11.00"}}, STOCK_KEEPERS,
         "ProductUpdated"),
    Call("createProduct with catalogue fields", CREATE_PRODUCT,
         lambda _: {"input": {"name": "Milk", "sku": uuid.uuid4().hex[:12], "price": "1.00",
                              "unit": "L", "category": "Dairy", "barcode": uuid.uuid4().hex,
                              "costPrice": "0.80", "minStock": 5, "expiryDate": "2030-01-01"}},
         STOCK_KEEPERS, "ProductCreated"),
    Call("updateProduct with catalogue fields", UPDATE_PRODUCT,
         lambda i: {"input": {"productId": i.product, "category": "Grains", "minStock": 2,
                              "status": "ACTIVE"}}, STOCK_KEEPERS, "ProductUpdated"),
    Call("restockProduct", RESTOCK_PRODUCT,
         lambda i: {"input": {"productId": i.product, "quantity": 3,
                              "idempotencyKey": new_key()}}, STOCK_KEEPERS, "ProductRestocked"),
    Call("purchase", PURCHASE, lambda i: purchase_input(i.customer, [(i.product, 1)]), SELLERS,
         "PurchaseCompleted"),
    Call("recordPayment", RECORD_PAYMENT,
         lambda i: {"input": {"customerId": i.customer, "amount": "1.00", "method": "CASH",
                              "idempotencyKey": new_key()}}, SELLERS, "PaymentRecorded"),
    Call("updateSettings", UPDATE_SETTINGS,
         lambda _: {"input": {"receiptFooter": f"Thank you {new_key()}"}}, OWNERS,
         "SettingsUpdated"),
    Call("createUser", CREATE_USER,
         lambda _: {"input": {"email": new_email(), "fullName": "New Hand", "role": "STAFF"}},
         OWNERS, "UserCreated"),
    Call("updateUser", UPDATE_USER,
         lambda i: {"input": {"userId": i.user, "role": "VIEWER", "active": False}}, OWNERS,
         "UserUpdated"),
    Call("resetPassword", RESET_PASSWORD, lambda i: {"userId": i.user}, OWNERS, "PasswordReset"),
    Call("voidOrder", VOID_ORDER,
         lambda i: {"input": {"orderId": i.order, "reason": "Rung up twice",
                              "idempotencyKey": new_key()}}, OWNERS, "OrderVoided"),
    Call("returnItems", RETURN_ITEMS,
         lambda i: {"input": {"orderId": i.order, "items": [{"productId": i.product,
                                                             "quantity": 1}],
                              "idempotencyKey": new_key()}}, SELLERS, "ItemsReturned"),
    Call("reversePayment", REVERSE_PAYMENT,
         lambda i: {"input": {"paymentId": i.payment, "reason": "Cheque bounced",
                              "idempotencyKey": new_key()}}, OWNERS, "PaymentReversed"),
    Call("adjustBalance", ADJUST_BALANCE,
         lambda i: {"input": {"customerId": i.customer, "amount": "1.00", "kind": "WRITE_OFF",
                              "reason": "Goodwill", "idempotencyKey": new_key()}}, OWNERS,
         "BalanceAdjusted"),
    Call("adjustStock", ADJUST_STOCK,
         lambda i: {"input": {"productId": i.product, "change": -1, "reason": "DAMAGE",
                              "idempotencyKey": new_key()}}, STOCK_KEEPERS, "StockAdjusted"),
    Call("archiveCustomer", archive_mutation("archive", "customer"),
         lambda i: {"input": {"customerId": i.customer}}, SELLERS, "CustomerArchived"),
    Call("unarchiveCustomer", archive_mutation("unarchive", "customer"),
         lambda i: {"input": {"customerId": i.customer}}, SELLERS, "CustomerUnarchived"),
    Call("archiveProduct", archive_mutation("archive", "product"),
         lambda i: {"input": {"productId": i.product}}, STOCK_KEEPERS, "ProductArchived"),
    Call("unarchiveProduct", archive_mutation("unarchive", "product"),
         lambda i: {"input": {"productId": i.product}}, STOCK_KEEPERS, "ProductUnarchived"),
]  # fmt: skip


@pytest.fixture(scope="module", params=["key", "user"])
async def shop(
    request: pytest.FixtureRequest, owner_db: AsyncEngine, http: httpx.AsyncClient
) -> Tenant:
    """One business per kind of caller: API keys, or users signed in (one per role)."""
    if request.param == "key":
        return await new_tenant(owner_db, http)
    return await staffed_tenant(owner_db, http)


async def _ids(owner_db: AsyncEngine, shop: Tenant, call: Call) -> Ids:
    customer, product = await make_customer(shop), await make_product(shop)
    sale = await buy(shop, customer, [(product, 2)], role=Role.OWNER)
    assert sale["__typename"] == "PurchaseCompleted", sale
    payment = await pay(shop, customer, "1.00", role=Role.OWNER)
    user, _, _ = await new_user(owner_db, shop.id, Role.CASHIER)
    if call.name.startswith("unarchive"):
        for what, row_id in (("customer", customer), ("product", product)):
            archived = await set_archived(shop, what, row_id, role=Role.OWNER)
            assert archived["__typename"].endswith("Archived"), archived
    return Ids(
        customer=customer, product=product, user=user, order=sale["order"]["id"],
        payment=payment["payment"]["id"],
    )  # fmt: skip


async def audit_entries(owner_db: AsyncEngine, business_id: int) -> list[Any]:
    """The business's audit entries, oldest first (as the owner, tenant bound)."""
    async with owner_db.connect() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
        )
        rows = await connection.execute(
            text(
                "SELECT operation, outcome, role, actor_user_id, actor_key_id FROM audit_log"
                " WHERE business_id = :b ORDER BY at, id"
            ),
            {"b": business_id},
        )
        return list(rows)


async def _passwords(owner_db: AsyncEngine, business_id: int) -> str:
    async with owner_db.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
        )
        digest = await connection.execute(
            text(
                "SELECT md5(string_agg(password_hash, ',' ORDER BY id)) FROM users"
                " WHERE business_id = :b"
            ),
            {"b": business_id},
        )
        return str(digest.scalar_one())


ARCHIVED = """
query($c: ID!, $p: ID!) { customer(id: $c) { archivedAt } product(id: $p) { archivedAt } }
"""


async def _state(owner_db: AsyncEngine, shop: Tenant, ids: Ids) -> dict[str, Any]:
    users = await shop.data(USERS, {"first": 100})
    return {
        "rows": await row_counts(owner_db, shop.id),
        "passwords": await _passwords(owner_db, shop.id),
        **await shop.data(CUSTOMER, {"id": ids.customer}),
        **await shop.data(PRODUCT, {"id": ids.product}),
        **await shop.data(PRODUCT_DETAILS, {"id": ids.product}),
        **await shop.data("{ settings { receiptFooter } }"),
        "archived": await shop.data(ARCHIVED, {"c": ids.customer, "p": ids.product}),
        "users": [edge["node"] for edge in users["users"]["edges"]],
    }


@pytest.mark.parametrize("role", ROLES, ids=[role.value for role in ROLES])
@pytest.mark.parametrize("call", MUTATIONS, ids=[call.name for call in MUTATIONS])
async def test_each_role_may_make_exactly_the_mutations_of_its_row(
    owner_db: AsyncEngine, shop: Tenant, call: Call, role: Role
) -> None:
    ids = await _ids(owner_db, shop, call)
    before = await _state(owner_db, shop, ids)
    entries = len(await audit_entries(owner_db, shop.id))

    answer = await shop.gql(call.document, call.variables(ids), role=role)

    new_entries = (await audit_entries(owner_db, shop.id))[entries:]
    if role in call.allowed:
        assert "errors" not in answer, answer
        assert next(iter(answer["data"].values()))["__typename"] == call.success
        assert await _state(owner_db, shop, ids) != before
        [entry] = new_entries
        assert (entry.operation, entry.outcome, entry.role) == (
            call.name.split(" ")[0],
            call.success,
            role.value,
        )
        assert (entry.actor_user_id is None) == (shop.keys[role].startswith("cl_"))
    else:
        assert answer["data"] is None
        assert error_codes(answer) == ["FORBIDDEN"], answer
        assert await _state(owner_db, shop, ids) == before
        # Every refusal is audited once: by the permission, before the mutation runs, or
        # (a cashier's credit limit) by the mutation itself.
        [entry] = new_entries
        assert (entry.operation, entry.outcome, entry.role) == (
            call.name.split(" ")[0],
            "FORBIDDEN",
            role.value,
        )


@pytest.mark.parametrize("role", ROLES, ids=[role.value for role in ROLES])
@pytest.mark.parametrize("call", QUERIES, ids=[call.name for call in QUERIES])
async def test_each_role_may_make_exactly_the_queries_of_its_row(
    owner_db: AsyncEngine, shop: Tenant, call: Call, role: Role
) -> None:
    ids = Ids(customer=await make_customer(shop), product=await make_product(shop), user="1")

    answer = await shop.gql(call.document, call.variables(ids), role=role)

    if role in call.allowed:
        assert "errors" not in answer, answer
    else:
        assert error_codes(answer) == ["FORBIDDEN"], answer
        # A forbidden field of an object (Customer.statement) nulls the nullable parent.
        assert answer["data"] is None or set(answer["data"].values()) == {None}


@pytest.mark.parametrize("role", ROLES, ids=[role.value for role in ROLES])
async def test_every_signed_in_user_may_change_their_password_and_log_out_and_no_key_may(
    owner_db: AsyncEngine, http: httpx.AsyncClient, role: Role
) -> None:
    keyed = await new_tenant(owner_db, http)
    _, email, password = await new_user(owner_db, keyed.id, role)
    token = (await signed_in(http, email, password))["accessToken"]
    change = {"input": {"currentPassword": password, "newPassword": "a new long passphrase"}}

    for call in (CHANGE_PASSWORD, LOGOUT):
        refused = await post_graphql(http, call, change, token=keyed.keys[role])
        assert refused["data"] is None
        assert error_codes(refused) == ["FORBIDDEN"], refused

    changed = await post_graphql(http, CHANGE_PASSWORD, change, token=token)
    assert changed["data"]["changePassword"]["__typename"] == "PasswordChanged", changed
    assert (await post_graphql(http, LOGOUT, token=token))["data"] == {"logout": True}
    gone = await post_graphql(http, ME, token=token)
    assert error_codes(gone) == ["UNAUTHENTICATED"]
    assert (await signed_in(http, email, "a new long passphrase"))["user"]["role"] == role.name
