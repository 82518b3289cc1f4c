"""Reading and changing the store settings (columns of the business row, 0008).

The database has the last word on two rules, and its refusals become field
problems here: a time zone PostgreSQL does not know, and a currency change once
the first sale exists (``check_store_settings``, which also makes the change wait
for sales in progress).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.domain.money import minor_units_of
from app.domain.percent import from_hundredths
from app.domain.results import Invalid
from app.domain.settings import StoreSettings
from app.services.retry import constraint_name, sqlstate
from app.services.unit_of_work import TENANT, UnitOfWork

UPDATABLE = (
    "name", "phone", "address", "currency", "time_zone", "default_tax_rate",
    "prices_include_tax", "receipt_header", "receipt_footer", "payment_terms_days",
    "low_stock_default",
)  # fmt: skip

_SELECT = text(
    "SELECT name, phone, address, currency::text AS currency, time_zone,"
    " CAST(default_tax_rate * 100 AS integer) AS default_tax_rate, prices_include_tax,"
    " receipt_header, receipt_footer, payment_terms_days, low_stock_default"
    f" FROM businesses WHERE id = {TENANT}"
)


async def get_settings(uow: UnitOfWork) -> StoreSettings:
    row = (await uow.execute(_SELECT)).one()
    return StoreSettings(**row._mapping)


async def update_settings(uow: UnitOfWork, *, changes: dict[str, Any]) -> StoreSettings | Invalid:
    """Apply ``changes`` (column names; the tax rate in hundredths of a percent)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    values = dict(changes)
    if "default_tax_rate" in values:
        values["default_tax_rate"] = from_hundredths(values["default_tax_rate"])
    if "currency" in values:
        values["currency_minor_units"] = minor_units_of(values["currency"])
    before = await get_settings(uow)
    if values:
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        try:
            await uow.execute(
                text(f"UPDATE businesses SET {assignments} WHERE id = {TENANT}"), values
            )
        except DBAPIError as exc:
            if constraint_name(exc) == "currency_fixed_after_first_sale":
                return Invalid.one("currency", "cannot change once the first sale exists")
            if sqlstate(exc) == "22023" and "time_zone" in values:
                return Invalid.one("timeZone", "is not a time zone the database knows")
            raise
    settings = await get_settings(uow)
    uow.audit_change(before, settings)
    await uow.commit()
    return settings
