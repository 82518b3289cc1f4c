"""GraphiQL's files (``app.graphiql``): the pinned releases are the ones Strawberry's page
names, a tarball that is not the pinned one installs nothing, and the page falls back
to the CDN when a file is missing."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest
from strawberry.http.ides import get_graphql_ide_html

from app.graphiql import ASSET_PATHS, CDN, ROUTE, Release
from app.graphiql.fetch import IntegrityError, install, integrity_of
from app.graphiql.page import graphiql_page


def tarball(files: dict[str, bytes]) -> bytes:
    """An npm-style tarball: every file under ``package/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_the_pinned_files_are_exactly_those_strawberrys_page_loads() -> None:
    named = set(re.findall(rf'"{re.escape(CDN)}([^"]+)"', get_graphql_ide_html("graphiql")))
    assert named == ASSET_PATHS, "a Strawberry upgrade changed GraphiQL: update RELEASES"


def test_a_tarball_with_the_pinned_integrity_installs_only_the_listed_files(
    tmp_path: Path,
) -> None:
    package = tarball({"dist/app.js": b"app()", "dist/other.js": b"other()"})
    release = Release("@scope/app", "1.2.3", integrity_of(package), ("dist/app.js",))

    install(release, package, tmp_path)

    assert (tmp_path / "@scope/app@1.2.3/dist/app.js").read_bytes() == b"app()"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["app.js"]


def test_a_tarball_that_is_not_the_pinned_one_installs_nothing(tmp_path: Path) -> None:
    genuine = tarball({"dist/app.js": b"app()"})
    release = Release("app", "1.2.3", integrity_of(genuine), ("dist/app.js",))

    with pytest.raises(IntegrityError, match=re.escape("app@1.2.3: integrity sha512-")):
        install(release, tarball({"dist/app.js": b"stealCookies()"}), tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_without_the_files_the_page_is_strawberrys_own_from_the_cdn(tmp_path: Path) -> None:
    assert graphiql_page(tmp_path) == get_graphql_ide_html("graphiql")


def test_with_every_file_the_page_loads_none_from_the_cdn(tmp_path: Path) -> None:
    for path in ASSET_PATHS:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("/* file */")

    page = graphiql_page(tmp_path)

    assert CDN not in page
    for path in ASSET_PATHS:
        assert f'src="{ROUTE}{path}"' in page or f'href="{ROUTE}{path}"' in page
    assert page.count('integrity="sha384-') == len(ASSET_PATHS)  # the browser checks them
