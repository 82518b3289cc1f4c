"""Each custom scalar's ``@specifiedBy(url:)`` names a section of docs/scalars.md that exists."""

from __future__ import annotations

import re

from graphql import GraphQLScalarType, build_schema, specified_scalar_types

from app.config import PROJECT_ROOT


def test_every_custom_scalar_is_specified_by_its_section_of_the_docs() -> None:
    schema = build_schema((PROJECT_ROOT / "schema.graphql").read_text())  # = the code's
    custom = {
        name: kind.specified_by_url
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLScalarType)
        and name not in specified_scalar_types
        and not name.startswith("__")
    }
    docs = (PROJECT_ROOT / "docs" / "scalars.md").read_text()
    anchors = {heading.lower() for heading in re.findall(r"^## (\w+)$", docs, re.MULTILINE)}

    # JSON is Strawberry's own, specified by ECMA-404.
    assert custom.pop("JSON").startswith("https://ecma-international.org/")
    assert set(custom) == {"Money", "Percent", "DateTime", "Date"}
    for name, url in custom.items():
        assert url == f"docs/scalars.md#{name.lower()}"
        assert name.lower() in anchors, name
