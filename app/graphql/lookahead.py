"""What a query asks for below the current field, fragments included.

A list resolver looks ahead so that it can read, in the statement that reads
the page, what every node of the page will ask for anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def nested_fields(selections: Iterable[Selection], *path: str) -> list[SelectedField]:
    """Every field reached by following the field names ``path`` down from ``selections``."""
    level = list(_fields(selections))
    for name in path:
        level = [f for field in level if field.name == name for f in _fields(field.selections)]
    return level


def asks_for_now(selections: Iterable[Selection], *path: str) -> bool:
    """Whether the field at ``path`` is selected with its ``asOf`` left out or null."""
    *parents, name = path
    return any(
        field.name == name and field.arguments.get("asOf") is None
        for field in nested_fields(selections, *parents)
    )
