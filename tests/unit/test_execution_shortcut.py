"""The leaf shortcut answers exactly as graphql-core's own execution, errors included."""

from __future__ import annotations

import enum
from typing import Any, NewType

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from app.graphql.execution import ShortcutExecutionContext, _shortcuts_of
from app.graphql.schema import schema as service_schema

Even = NewType("Even", int)


def _serialize_even(value: int) -> int:
    if value % 2:
        raise ValueError(f"{value} is odd")
    return value


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Thing:
    name: str
    nickname: str | None
    colour: Colour
    number: Even
    maybe_number: Even | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Scalars:
    text: str
    code: strawberry.ID
    count: int
    flag: bool | None
    ratio: float


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [
            Thing(name="ok", nickname=None, colour=Colour.RED, number=Even(2), maybe_number=None),
            # A null in a non-null leaf: the error propagates to the nullable item.
            Thing(
                name=None, nickname="n", colour=Colour.BLUE, number=Even(4), maybe_number=Even(6)
            ),  # type: ignore[arg-type]
            # A value the scalar refuses to serialize.
            Thing(
                name="odd", nickname="o", colour=Colour.RED, number=Even(3), maybe_number=Even(5)
            ),
            # Not a member of the enum.
            Thing(name="c", nickname=None, colour="green", number=Even(8), maybe_number=None),  # type: ignore[arg-type]
        ]

    @strawberry.field
    def scalars(self) -> list[Scalars | None]:
        return [
            Scalars(text="t", code="c", count=1, flag=True, ratio=0.5),
            # Values the built-in scalars convert rather than pass through.
            Scalars(text=5, code=7, count=True, flag=1, ratio=2),  # type: ignore[arg-type]
            Scalars(text=True, code=1.0, count=2.0, flag=0.0, ratio=True),  # type: ignore[arg-type]
            # Values they refuse: out of the 32-bit range, a fraction, a builtin type.
            Scalars(text="x", code="y", count=2**31, flag=False, ratio=1.0),
            Scalars(text="x", code="y", count=-(2**31) - 1, flag=False, ratio=1.0),
            Scalars(text="x", code="y", count=1.5, flag=False, ratio=1.0),  # type: ignore[arg-type]
            Scalars(text=[1], code={}, count="3", flag="yes", ratio="0.1"),  # type: ignore[arg-type]
            Scalars(text="x", code=None, count=2**31 - 1, flag=None, ratio=1.0),  # type: ignore[arg-type]
        ]

    @strawberry.field
    def thing_or_null(self) -> Thing | None:
        return Thing(name=None, nickname=None, colour=Colour.RED, number=Even(0), maybe_number=None)  # type: ignore[arg-type]


def _schema(execution_context_class: Any) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        scalar_overrides={Even: strawberry.scalar(Even, serialize=_serialize_even)},  # type: ignore[dict-item]
        execution_context_class=execution_context_class,
        config=StrawberryConfig(),
    )


def _assert_same(result: Any, expected: Any) -> None:
    """The same data and the same errors, messages, paths and locations included."""
    assert result.data == expected.data
    assert [e.formatted for e in result.errors or []] == [
        e.formatted for e in expected.errors or []
    ]


QUERIES = [
    "{ things { name nickname colour number maybeNumber shout } }",
    "{ things { n: name nick: nickname c: colour } }",
    "{ thingOrNull { name } }",
    "{ things { ...F } } fragment F on Thing { name number __typename }",
    "{ things { number } thingOrNull { nickname colour } }",
    "{ scalars { text code count flag ratio } }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_answers_and_errors_equal_graphql_cores(query: str) -> None:
    _assert_same(
        _schema(ShortcutExecutionContext).execute_sync(query), _schema(None).execute_sync(query)
    )


def test_the_scalar_cases_really_convert_and_refuse() -> None:
    result = _schema(ShortcutExecutionContext).execute_sync("{ scalars { text code count flag } }")
    assert result.data is not None
    assert result.data["scalars"][1] == {"text": "5", "code": "7", "count": 1, "flag": True}
    messages = " | ".join(str(e.message) for e in result.errors or [])
    assert "Int cannot represent non 32-bit signed integer value: 2147483648" in messages
    assert result.data["scalars"][7] is None  # a null ID below a non-null field


def test_the_errors_cases_really_produce_errors() -> None:
    """Guards the comparison above: the data set does exercise the error paths."""
    result = _schema(ShortcutExecutionContext).execute_sync(QUERIES[0])
    messages = " | ".join(str(e.message) for e in result.errors or [])
    assert "Cannot return null for non-nullable field Thing.name" in messages
    assert "3 is odd" in messages
    assert "green" in messages


def test_only_plain_leaf_fields_take_the_shortcut() -> None:
    graphql_schema = _schema(ShortcutExecutionContext)._schema
    readers = _shortcuts_of(graphql_schema.type_map["Thing"])  # type: ignore[arg-type]
    assert set(readers) == {"name", "nickname", "colour", "number", "maybeNumber"}


def test_the_service_schema_uses_it() -> None:
    assert service_schema.execution_context_class is ShortcutExecutionContext


# --- Object fields ---------------------------------------------------------------


@strawberry.type
class Inner:
    label: str

    @strawberry.field
    async def later(self) -> str:
        return self.label.upper()

    @strawberry.field
    async def fails_later(self) -> str | None:
        raise ValueError(f"late failure {self.label}")

    @strawberry.field
    async def must_not_fail(self) -> str:
        raise ValueError(f"non-null late failure {self.label}")


@strawberry.type
class Box:
    inner: Inner
    maybe_inner: Inner | None


class ExplodingBox:
    """Not a Box, but shaped like one (nothing checks the runtime type), whose ``inner`` raises."""

    maybe_inner = None

    @property
    def inner(self) -> Inner:
        raise ValueError("inner exploded")


@strawberry.type
class BoxQuery:
    @strawberry.field
    def boxes(self) -> list[Box | None]:
        return [
            Box(inner=Inner(label="a"), maybe_inner=None),
            # A null leaf below the non-null ``inner``: the box becomes null.
            Box(inner=Inner(label=None), maybe_inner=Inner(label="c")),  # type: ignore[arg-type]
            # A null leaf below the nullable ``maybeInner``: only that becomes null.
            Box(inner=Inner(label="d"), maybe_inner=Inner(label=None)),  # type: ignore[arg-type]
            # A null in the non-null object field itself.
            Box(inner=None, maybe_inner=Inner(label="e")),  # type: ignore[arg-type]
            ExplodingBox(),  # type: ignore[list-item]
        ]


def _box_schema(execution_context_class: Any) -> strawberry.Schema:
    return strawberry.Schema(query=BoxQuery, execution_context_class=execution_context_class)


BOX_QUERIES = [
    "{ boxes { inner { label } maybeInner { label } } }",
    "{ boxes { inner { label later } maybeInner { later failsLater } } }",
    "{ boxes { maybeInner { label mustNotFail } } }",
    "{ boxes { inner { mustNotFail } } }",
    "{ boxes { i: inner { l: label } inner { later } } }",
    "{ boxes { ...B } } fragment B on Box { inner { __typename label } }",
]


@pytest.mark.parametrize("query", BOX_QUERIES)
async def test_object_fields_answer_as_graphql_cores(query: str) -> None:
    shortcut = await _box_schema(ShortcutExecutionContext).execute(query)
    without = await _box_schema(None).execute(query)
    assert without.data is not None, without.errors  # the query itself is valid
    _assert_same(shortcut, without)


async def test_the_object_cases_really_produce_errors() -> None:
    """Guards the comparison above: each failure case is reached."""
    result = await _box_schema(ShortcutExecutionContext).execute(BOX_QUERIES[1])
    messages = " | ".join(str(e.message) for e in result.errors or [])
    assert "Cannot return null for non-nullable field Inner.label" in messages
    assert "Cannot return null for non-nullable field Box.inner" in messages
    assert "inner exploded" in messages
    assert "late failure None" in messages  # below the nullable maybeInner, awaited


def test_object_fields_take_the_shortcut() -> None:
    graphql_schema = _box_schema(ShortcutExecutionContext)._schema
    assert set(_shortcuts_of(graphql_schema.type_map["Box"])) == {"inner", "maybeInner"}  # type: ignore[arg-type]


# --- Lists of objects, and fields with a resolver ------------------------------------


def _exploding_boxes() -> Any:
    yield Box(inner=Inner(label="g"), maybe_inner=None)


@strawberry.type
class Shelf:
    name: str
    boxes: list[Box]
    maybe_boxes: list[Box | None] | None
    strict_boxes: list[Box] | None

    @strawberry.field
    def first_box(self, offset: int = 0) -> Box | None:
        if offset < 0:
            raise ValueError(f"offset {offset} is negative")
        return self.boxes[offset] if offset < len(self.boxes) else None

    @strawberry.field
    def required_box(self, offset: int = 0) -> Box:
        return self.boxes[offset] if offset < len(self.boxes) else None  # type: ignore[return-value]

    @strawberry.field
    async def later_box(self) -> Box:
        return self.boxes[0]

    @strawberry.field
    def labelled(self, label: str, shout: bool = False) -> Inner:
        return Inner(label=f"{self.name}:{label.upper() if shout else label}")


def _box(label: str | None) -> Box:
    return Box(inner=Inner(label=label), maybe_inner=None)  # type: ignore[arg-type]


@strawberry.type
class ShelfQuery:
    @strawberry.field
    def shelves(self) -> list[Shelf | None]:
        return [
            Shelf(
                name="one",
                boxes=[_box("a"), Box(inner=Inner(label="b"), maybe_inner=Inner(label="m"))],
                maybe_boxes=[_box("c"), None],
                # A non-null item whose non-null field is null: the list becomes null.
                strict_boxes=[_box("d"), Box(inner=None, maybe_inner=None)],  # type: ignore[arg-type]
            ),
            # A null below a non-null item of a non-null list: the shelf becomes null.
            Shelf(name="two", boxes=[_box(None)], maybe_boxes=None, strict_boxes=[]),
            Shelf(
                name="three",
                boxes=(_box("e"), ExplodingBox()),  # type: ignore[arg-type]
                maybe_boxes=[ExplodingBox(), _box("f")],  # type: ignore[list-item]
                strict_boxes=_exploding_boxes(),  # not a list: graphql-core's own path
            ),
            Shelf(name="four", boxes=[], maybe_boxes=[None], strict_boxes=None),
        ]


def _shelf_schema(execution_context_class: Any) -> strawberry.Schema:
    return strawberry.Schema(query=ShelfQuery, execution_context_class=execution_context_class)


SHELF_QUERIES = [
    "{ shelves { name boxes { inner { label } } } }",
    "{ shelves { maybeBoxes { inner { label } maybeInner { label } } } }",
    "{ shelves { strictBoxes { inner { label } } } }",
    "{ shelves { boxes { inner { later } maybeInner { failsLater } } } }",
    "{ shelves { maybeBoxes { inner { mustNotFail } } } }",
    "{ shelves { name boxes { i: inner { label } j: inner { later } } } }",
    "{ shelves { firstBox { inner { label } } f1: firstBox(offset: 1) { inner { label } } } }",
    "{ shelves { firstBox(offset: -1) { inner { label } } name } }",
    "{ shelves { requiredBox(offset: 1) { inner { label } } name } }",
    "{ shelves { laterBox { inner { label later } } } }",
    '{ shelves { a: labelled(label: "x") { label }'
    ' b: labelled(label: "y", shout: true) { label } } }',
    "query($o: Int!, $l: String!) { shelves { firstBox(offset: $o) { inner { label } }"
    " labelled(label: $l) { later } } }",
    "{ shelves { boxes { ...B } } } fragment B on Box { inner { __typename label } }",
]
SHELF_VARIABLES = {"o": 1, "l": "v"}


@pytest.mark.parametrize("query", SHELF_QUERIES)
async def test_lists_and_resolved_fields_answer_as_graphql_cores(query: str) -> None:
    shortcut = await _shelf_schema(ShortcutExecutionContext).execute(
        query, variable_values=SHELF_VARIABLES
    )
    without = await _shelf_schema(None).execute(query, variable_values=SHELF_VARIABLES)
    assert without.data is not None, without.errors  # the query itself is valid
    _assert_same(shortcut, without)


async def test_the_list_cases_really_produce_errors() -> None:
    """Guards the comparison above: each failure case is reached."""
    schema = _shelf_schema(ShortcutExecutionContext)
    strict = await schema.execute(SHELF_QUERIES[2])
    assert strict.data is not None
    assert strict.data["shelves"][0] == {"strictBoxes": None}
    boxes = await schema.execute(SHELF_QUERIES[0])
    assert boxes.data is not None
    assert boxes.data["shelves"][1] is None
    messages = " | ".join(str(e.message) for e in boxes.errors or [])
    assert "Cannot return null for non-nullable field Inner.label" in messages
    assert "inner exploded" in messages
    negative = await schema.execute(SHELF_QUERIES[7])
    assert "offset -1 is negative" in str(negative.errors)
    labelled = await schema.execute(SHELF_QUERIES[10])
    assert labelled.data is not None
    assert labelled.data["shelves"][0] == {"a": {"label": "one:x"}, "b": {"label": "one:Y"}}


def test_list_and_resolved_fields_take_the_shortcut() -> None:
    graphql_schema = _shelf_schema(ShortcutExecutionContext)._schema
    kinds = {
        name: shortcut.kind
        for name, shortcut in _shortcuts_of(graphql_schema.type_map["Shelf"]).items()  # type: ignore[arg-type]
    }
    assert kinds == {
        "name": 1, "boxes": 3, "maybeBoxes": 3, "strictBoxes": 3,
        "firstBox": 4, "requiredBox": 4, "laterBox": 4, "labelled": 4,
    }  # fmt: skip
