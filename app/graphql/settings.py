"""Store settings: ``settings`` for any role, ``updateSettings`` for owners."""

from __future__ import annotations

import re
from typing import Annotated, Any

import strawberry

from app.domain.results import Invalid, Problems
from app.domain.settings import StoreSettings, is_time_zone
from app.graphql.audited import BUSINESS, audited
from app.graphql.common import InvalidInput, read_percent, read_terms, read_text
from app.graphql.context import Info
from app.graphql.permissions import OWNER, READ
from app.graphql.scalars import Percent, percent
from app.services import settings as service

_CURRENCY = re.compile(r"[A-Z]{3}")


@strawberry.type
class Settings:
    name: str
    phone: str | None
    address: str | None
    currency: str = strawberry.field(description="ISO 4217; fixed once the first sale exists.")
    time_zone: str = strawberry.field(
        description="IANA name; the store's days (today, bill years, reports) are days here."
    )
    default_tax_rate: Percent = strawberry.field(
        description="The tax rate of products without their own."
    )
    prices_include_tax: bool
    receipt_header: str | None
    receipt_footer: str | None
    payment_terms_days: int
    low_stock_default: int

    @classmethod
    def of(cls, record: StoreSettings) -> Settings:
        fields = record._asdict()
        fields["default_tax_rate"] = percent(record.default_tax_rate)
        return cls(**fields)


@strawberry.type
class SettingsUpdated:
    settings: Settings


UpdateSettingsResult = Annotated[
    SettingsUpdated | InvalidInput, strawberry.union("UpdateSettingsResult")
]


@strawberry.input
class UpdateSettingsInput:
    name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    default_tax_rate: Percent | None = strawberry.UNSET
    prices_include_tax: bool | None = strawberry.UNSET
    receipt_header: str | None = strawberry.UNSET
    receipt_footer: str | None = strawberry.UNSET
    payment_terms_days: int | None = strawberry.UNSET
    low_stock_default: int | None = strawberry.UNSET


_TEXTS = {"phone": 40, "address": 500, "receipt_header": 1000, "receipt_footer": 1000}
_REQUIRED = ("currency", "time_zone", "default_tax_rate", "prices_include_tax",
             "payment_terms_days", "low_stock_default")  # fmt: skip


def _changes(given: UpdateSettingsInput, problems: Problems) -> dict[str, Any]:
    """The column values to set, each checked; fields not sent stay as they are."""
    raw = {k: v for k, v in vars(given).items() if v is not strawberry.UNSET}
    for column in _REQUIRED:
        if column in raw and raw[column] is None:
            problems.add(_camel(column), "must not be null")
            raw.pop(column)
    return _texts(raw, problems) | _choices(raw, problems)


def _texts(raw: dict[str, Any], problems: Problems) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "name" in raw:
        changes["name"] = read_text(raw["name"], "name", problems, max_length=200, required=True)
    for column, length in _TEXTS.items():
        if column in raw:
            field = _camel(column)
            changes[column] = read_text(raw[column], field, problems, max_length=length,
                                        required=False)  # fmt: skip
    return changes


def _choices(raw: dict[str, Any], problems: Problems) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "currency" in raw:
        changes["currency"] = raw["currency"].strip().upper()
        if not _CURRENCY.fullmatch(changes["currency"]):
            problems.add("currency", "must be a three-letter ISO 4217 code")
    if "time_zone" in raw:
        changes["time_zone"] = raw["time_zone"].strip()
        if not is_time_zone(changes["time_zone"]):
            problems.add("timeZone", "must be an IANA time zone name such as Asia/Kolkata")
    if "default_tax_rate" in raw:
        changes["default_tax_rate"] = read_percent(
            raw["default_tax_rate"], "defaultTaxRate", problems
        )
    if "prices_include_tax" in raw:
        changes["prices_include_tax"] = raw["prices_include_tax"]
    if "payment_terms_days" in raw:
        changes["payment_terms_days"] = read_terms(
            raw["payment_terms_days"], "paymentTermsDays", problems
        )
    if "low_stock_default" in raw:
        changes["low_stock_default"] = raw["low_stock_default"]
        if raw["low_stock_default"] < 0:
            problems.add("lowStockDefault", "must not be negative")
    return changes


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(word.title() for word in rest)


@strawberry.type
class SettingsQueries:
    @strawberry.field(permission_classes=READ)
    async def settings(self, info: Info) -> Settings:
        async with info.context.uow() as uow:
            return Settings.of(await service.get_settings(uow))


@strawberry.type
class SettingsMutations:
    @strawberry.mutation(permission_classes=OWNER)
    @audited("Business", by=BUSINESS)
    async def update_settings(self, info: Info, input: UpdateSettingsInput) -> UpdateSettingsResult:
        problems = Problems()
        changes = _changes(input, problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        async with info.context.uow() as uow:
            result = await service.update_settings(uow, changes=changes)
        if isinstance(result, Invalid):
            return InvalidInput.of(result)
        return SettingsUpdated(settings=Settings.of(result))
