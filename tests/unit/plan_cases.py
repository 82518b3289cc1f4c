"""Schemas and queries full of awkward values (nulls, refused scalars, raising
attributes, generators) for comparing a plan's answers with graphql-core's
(``tests/unit/test_query_plans.py``)."""

from __future__ import annotations

import enum
from typing import Any, NewType

import strawberry
from strawberry.schema.config import StrawberryConfig

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


def _schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        config=StrawberryConfig(
            scalar_map={Even: strawberry.scalar(name="Even", serialize=_serialize_even)}
        ),
    )


QUERIES = [
    "{ things { name nickname colour number maybeNumber shout } }",
    "{ things { n: name nick: nickname c: colour } }",
    "{ thingOrNull { name } }",
    "{ things { ...F } } fragment F on Thing { name number __typename }",
    "{ things { number } thingOrNull { nickname colour } }",
    "{ scalars { text code count flag ratio } }",
]


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


def _box_schema() -> strawberry.Schema:
    return strawberry.Schema(query=BoxQuery)


BOX_QUERIES = [
    "{ boxes { inner { label } maybeInner { label } } }",
    "{ boxes { inner { label later } maybeInner { later failsLater } } }",
    "{ boxes { maybeInner { label mustNotFail } } }",
    "{ boxes { inner { mustNotFail } } }",
    "{ boxes { i: inner { l: label } inner { later } } }",
    "{ boxes { ...B } } fragment B on Box { inner { __typename label } }",
]


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


def _shelf_schema() -> strawberry.Schema:
    return strawberry.Schema(query=ShelfQuery)


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
