"""Plain resolvers answer exactly as Strawberry's own resolvers, errors included."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.relay import GlobalID

from app.graphql.engine.internals import graphql_schema
from app.graphql.engine.resolvers import PlainResolvers
from app.graphql.schema import schema as service_schema


class Denied(strawberry.BasePermission):
    message = "denied"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class SeesArguments(strawberry.BasePermission):
    """Grants only when the converted argument says so: permissions see converted values."""

    message = "the window is too long"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        window = kwargs.get("window")
        return window is None or window.days < 10


class Granted(strawberry.BasePermission):
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return info.field_name != "neverHere"


class Quiet(strawberry.BasePermission):
    """Refuses without raising: the field then answers what ``on_unauthorized`` returns."""

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False

    def on_unauthorized(self) -> None:
        return None


class Sloppy(strawberry.BasePermission):
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return "yes"  # type: ignore[return-value]


@strawberry.enum
class Unit(enum.Enum):
    DAY = "day"
    WEEK = "week"


@strawberry.input
class Window:
    days: int
    comment: str | None  # no default: Strawberry passes None when it is left out
    unit: Unit = Unit.DAY
    label: str | None = None
    note: str | None = strawberry.UNSET


@strawberry.input
class Line:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class Order:
    customer_id: strawberry.ID
    lines: list[Line]
    tags: list[str] | None = None
    window: Window | None = None
    then: Order | None = None


def describe(value: Any) -> str:
    """What the resolver received, types included, so both paths must build the same."""
    if isinstance(value, list):
        return "[" + ", ".join(describe(item) for item in value) + "]"
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        inner = ", ".join(f"{name}={describe(getattr(value, name))}" for name in fields)
        return f"{type(value).__name__}({inner})"
    return f"{type(value).__name__}:{value!r}"


@strawberry.type
class Account:
    owner: str

    @strawberry.field
    def greeting(self, info: strawberry.Info, word: str = "hello", times: int = 1) -> str:
        return " ".join([f"{word} {self.owner} ({info.python_name})"] * times)

    @strawberry.field
    async def later(self, minutes: int | None = None) -> str:
        return f"{self.owner} in {minutes}"

    @strawberry.field
    def parent_name(self, root: Account) -> str:
        return root.owner.upper()

    @strawberry.field
    def span(self, start_day: int = 1, end_day: int | None = None) -> str:
        return f"{start_day}-{end_day}"

    @strawberry.field
    def fails(self, code: int) -> str | None:
        raise ValueError(f"failure {code}")

    @strawberry.field(permission_classes=[Denied])
    def secret(self) -> str | None:
        return "must not be seen"

    @strawberry.field
    def windowed(self, window: Window) -> str:
        return describe(window)

    @strawberry.field
    def units(self, units: list[Unit]) -> str:
        return describe(units)


@strawberry.type
class AccountQuery:
    @strawberry.field(permission_classes=[Granted])
    def accounts(self) -> list[Account]:
        return [Account(owner="asha"), Account(owner="ravi")]

    @strawberry.field(permission_classes=[Granted, SeesArguments])
    async def place(self, order: Order, window: Window | None = None) -> str:
        return describe(order) + " / " + describe(window)

    @strawberry.field(permission_classes=[Granted, Denied])
    async def refused(self, order: Order) -> str:
        raise AssertionError("never called")

    @strawberry.field(permission_classes=[Quiet])
    def quiet(self) -> str | None:
        return "must not be seen"

    @strawberry.field(permission_classes=[Sloppy])
    def sloppy(self) -> str:
        return "must not be seen"

    @strawberry.field
    def by_global_id(self, id: GlobalID) -> str:
        return describe(id)

    @strawberry.field
    def maybe(self, value: strawberry.Maybe[int | None] = None) -> str:
        return describe(value)


def install_plain_resolvers(schema: strawberry.Schema) -> list[str]:
    """Every field resolved by the resolver plans would call for it (in the service
    only plans call them); the ``Type.field`` names whose resolver that changes."""
    plain = PlainResolvers(schema)
    changed = []
    for type_ in graphql_schema(schema).type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                resolver = plain(field)
                if resolver is not field.resolve:
                    field.resolve = resolver
                    changed.append(f"{type_.name}.{name}")
    return changed


def _account_schema(plain: bool) -> strawberry.Schema:
    built = strawberry.Schema(query=AccountQuery)
    if plain:
        install_plain_resolvers(built)
    return built


ORDER = '{customerId: "7", lines: [{productId: "1", quantity: 2}, {productId: 3, quantity: 1}]'
ACCOUNT_QUERIES = [
    '{ accounts { greeting g2: greeting(word: "hi", times: 2) later l5: later(minutes: 5) } }',
    "{ accounts { parentName fails(code: 7) span span2: span(startDay: 4, endDay: 9) } }",
    "{ accounts { owner secret } }",
    "{ accounts { windowed(window: {days: 3}) } }",
    '{ accounts { windowed(window: {days: 3, unit: WEEK, label: null, note: "n"}) } }',
    "{ accounts { units(units: [DAY, WEEK]) } }",
    "query($w: String!, $m: Int) { accounts { greeting(word: $w) later(minutes: $m) } }",
    "{ place(order: " + ORDER + "}) }",
    "{ place(order: " + ORDER + ', tags: ["a"], window: {days: 2}, then: ' + ORDER + "}}) }",
    "{ place(order: " + ORDER + ", tags: null}, window: {days: 11}) }",
    "{ place(order: " + ORDER + "}, window: {days: 9, unit: WEEK}) }",
    "{ refused(order: " + ORDER + "}) }",
    "{ sloppy }",
    "{ quiet }",
    "query($o: Order!, $w: Window) { place(order: $o, window: $w) }",
    '{ byGlobalId(id: "QWNjb3VudDox") maybe m: maybe(value: 3) n: maybe(value: null) }',
]
VARIABLES = {
    "w": "hey",
    "m": None,
    "o": {"customerId": 9, "lines": [{"productId": "4", "quantity": 1}], "tags": ["x", "y"]},
    "w2": None,
}


@pytest.mark.parametrize("query", ACCOUNT_QUERIES)
async def test_plain_resolvers_answer_as_strawberrys(query: str) -> None:
    variables = {**VARIABLES, "w": {"days": 1, "label": "l"}} if "$o" in query else VARIABLES
    plain = await _account_schema(True).execute(query, variable_values=variables)
    strawberrys = await _account_schema(False).execute(query, variable_values=variables)
    assert strawberrys.data is not None or strawberrys.errors, "the query itself is valid"
    assert plain.data == strawberrys.data
    assert [e.formatted for e in plain.errors or []] == [
        e.formatted for e in strawberrys.errors or []
    ]


async def test_the_cases_are_not_vacuous() -> None:
    """Refusals really refuse and inputs really arrive converted, on the plain path."""
    built = _account_schema(True)
    refused = await built.execute("{ refused(order: " + ORDER + "}) }")
    assert refused.errors
    assert refused.errors[0].message == "denied"
    assert refused.errors[0].extensions == {"code": "FORBIDDEN"}
    too_long = await built.execute("{ place(order: " + ORDER + "}, window: {days: 11}) }")
    assert too_long.errors
    assert too_long.errors[0].message == "the window is too long"
    placed = await built.execute("{ place(order: " + ORDER + "}, window: {days: 9}) }")
    assert placed.data is not None
    assert placed.data["place"].startswith("Order(customer_id=str:'7', lines=[Line(")
    assert (
        "Window(days=int:9, comment=NoneType:None, unit=Unit:<Unit.DAY: 'day'>"
        in (placed.data["place"])
    )
    assert (await built.execute("{ quiet }")).data == {"quiet": None}
    sloppy = await built.execute("{ sloppy }")
    assert sloppy.errors
    assert sloppy.data is None


def test_fields_strawberry_converts_specially_keep_strawberrys_resolver() -> None:
    changed = install_plain_resolvers(strawberry.Schema(query=AccountQuery))
    assert sorted(changed) == [
        "Account.fails", "Account.greeting", "Account.later", "Account.parentName",
        "Account.secret", "Account.span", "Account.units", "Account.windowed",
        "AccountQuery.accounts", "AccountQuery.place", "AccountQuery.quiet",
        "AccountQuery.refused", "AccountQuery.sloppy",
    ]  # fmt: skip


def test_the_service_schemas_hot_fields_have_them() -> None:
    plain = PlainResolvers(service_schema)
    types = graphql_schema(service_schema).type_map
    for type_name, field in [
        ("Customer", "overdue"), ("Mutation", "purchase"), ("Mutation", "recordPayment"),
        ("Query", "customers"),
    ]:  # fmt: skip
        resolve = plain(types[type_name].fields[field])  # type: ignore[union-attr]
        assert resolve.__qualname__.startswith("_plain_resolver"), (type_name, field)
