"""``schema.graphql`` is the contract clients are written against: it must match the code."""

from __future__ import annotations

from app.config import PROJECT_ROOT
from app.graphql.schema import export_sdl


def test_committed_schema_file_equals_the_schema_the_code_exports() -> None:
    committed = (PROJECT_ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), (
        "schema.graphql is out of date with the code: run `make schema` and commit it"
    )
