"""Store settings (issue 15, point 1): read by any role, changed by owners, each field
checked; a product's own tax rate; the currency fixed once the first sale exists."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from tests.conftest import Tenant
from tests.helpers import error_codes, make_customer, make_product
from tests.purchases import buy

FIELDS = """name phone address currency timeZone defaultTaxRate pricesIncludeTax
            receiptHeader receiptFooter paymentTermsDays lowStockDefault"""
SETTINGS = f"{{ settings {{ {FIELDS} }} }}"
UPDATE = f"""
mutation($input: UpdateSettingsInput!) {{
  updateSettings(input: $input) {{
    __typename
    ... on SettingsUpdated {{ settings {{ {FIELDS} }} }}
    ... on InvalidInput {{ message fields {{ field message }} }}
  }}
}}
"""


async def _update(tenant: Tenant, role: Role = Role.OWNER, **changes: Any) -> dict[str, Any]:
    data = await tenant.data(UPDATE, {"input": changes}, role=role)
    return data["updateSettings"]  # type: ignore[no-any-return]


async def test_a_new_store_has_defaults_any_role_can_read(tenant: Tenant) -> None:
    settings = (await tenant.data(SETTINGS, role=Role.VIEWER))["settings"]
    assert settings == {
        "name": "Test business", "phone": None, "address": None, "currency": "INR",
        "timeZone": "UTC", "defaultTaxRate": "0.00", "pricesIncludeTax": False,
        "receiptHeader": None, "receiptFooter": None, "paymentTermsDays": 30,
        "lowStockDefault": 0,
    }  # fmt: skip


async def test_an_owner_changes_what_it_sends_and_the_rest_stays(tenant: Tenant) -> None:
    result = await _update(
        tenant, name="Sharma Stores", phone="+91 98765", address="12 MG Road",
        timeZone="Asia/Kolkata", defaultTaxRate="5", pricesIncludeTax=True,
        receiptHeader="GSTIN 29ABCDE", receiptFooter="Thank you!", paymentTermsDays=15,
        lowStockDefault=3,
    )  # fmt: skip
    assert result["__typename"] == "SettingsUpdated", result
    assert (await tenant.data(SETTINGS))["settings"] == result["settings"] == {
        "name": "Sharma Stores", "phone": "+91 98765", "address": "12 MG Road",
        "currency": "INR", "timeZone": "Asia/Kolkata", "defaultTaxRate": "5.00",
        "pricesIncludeTax": True, "receiptHeader": "GSTIN 29ABCDE",
        "receiptFooter": "Thank you!", "paymentTermsDays": 15, "lowStockDefault": 3,
    }  # fmt: skip
    second = await _update(tenant, phone=None)
    assert (second["settings"]["phone"], second["settings"]["address"]) == (None, "12 MG Road")
    # The identity cached for the key is forgotten at once (0007's trigger on businesses).
    viewer = await tenant.data("{ viewer { business { name paymentTermsDays } } }")
    assert viewer["viewer"]["business"] == {"name": "Sharma Stores", "paymentTermsDays": 15}


async def test_only_owners_change_settings(tenant: Tenant) -> None:
    answer = await tenant.gql(UPDATE, {"input": {"name": "Mine now"}}, role=Role.CLERK)
    assert error_codes(answer) == ["FORBIDDEN"]
    assert (await tenant.data(SETTINGS))["settings"]["name"] == "Test business"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone"),
        ({"timeZone": "../etc/passwd"}, "timeZone"),
        ({"defaultTaxRate": "100.01"}, "defaultTaxRate"),
        ({"defaultTaxRate": "-1"}, "defaultTaxRate"),
        ({"defaultTaxRate": "5.001"}, "defaultTaxRate"),
        ({"currency": "rupees"}, "currency"),
        ({"name": "  "}, "name"),
        ({"paymentTermsDays": 4000}, "paymentTermsDays"),
        ({"lowStockDefault": -1}, "lowStockDefault"),
        ({"timeZone": None}, "timeZone"),
    ],
)
async def test_bad_settings_name_the_field_and_change_nothing(
    tenant: Tenant, changes: dict[str, Any], field: str
) -> None:
    before = (await tenant.data(SETTINGS))["settings"]
    result = await _update(tenant, phone="+1 555", **changes)
    assert result["__typename"] == "InvalidInput", result
    assert [f["field"] for f in result["fields"]] == [field]
    assert (await tenant.data(SETTINGS))["settings"] == before


@pytest.mark.parametrize("literal", ["5", '"five"', '"1e2"'])
async def test_a_percent_that_is_not_a_decimal_string_is_bad_user_input(
    tenant: Tenant, literal: str
) -> None:
    query = f"mutation {{ updateSettings(input: {{defaultTaxRate: {literal}}}) {{ __typename }} }}"
    assert error_codes(await tenant.gql(query)) == ["BAD_USER_INPUT"]
    answer = await tenant.gql(UPDATE, {"input": {"defaultTaxRate": 5}})
    assert error_codes(answer) == ["BAD_USER_INPUT"]


async def test_the_currency_is_fixed_once_the_first_sale_exists(tenant: Tenant) -> None:
    assert (await _update(tenant, currency="usd"))["settings"]["currency"] == "USD"
    viewer = await tenant.data("{ viewer { business { currency } } }")
    assert viewer["viewer"]["business"]["currency"] == "USD"
    customer, product = await make_customer(tenant), await make_product(tenant)
    assert (await buy(tenant, customer, [(product, 1)]))["__typename"] == "PurchaseCompleted"
    result = await _update(tenant, currency="INR", name="Renamed")
    assert result["__typename"] == "InvalidInput"
    assert [f["field"] for f in result["fields"]] == ["currency"]
    assert (await tenant.data(SETTINGS))["settings"]["name"] == "Test business"
    assert (await _update(tenant, currency="USD"))["__typename"] == "SettingsUpdated"


PRODUCT = "query($id: ID!) { product(id: $id) { taxRate } }"
UPDATE_PRODUCT = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    __typename
    ... on ProductUpdated { product { taxRate } }
    ... on InvalidInput { fields { field } }
  }
}
"""


async def test_a_product_has_its_own_tax_rate_or_the_stores(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    own = await make_product(tenant, taxRate="12.5")
    default = await make_product(tenant)
    assert (await tenant.data(PRODUCT, {"id": own}))["product"]["taxRate"] == "12.50"
    assert (await tenant.data(PRODUCT, {"id": default}))["product"]["taxRate"] is None
    changes: list[tuple[Any, Any]] = [("18", "18.00"), (None, None)]
    for sent, shown in changes:
        data = await tenant.data(UPDATE_PRODUCT, {"input": {"productId": own, "taxRate": sent}})
        assert data["updateProduct"]["product"]["taxRate"] == shown
    data = await tenant.data(UPDATE_PRODUCT, {"input": {"productId": own, "taxRate": "101"}})
    assert data["updateProduct"]["fields"] == [{"field": "taxRate"}]
