"""``python -m app.graphiql.fetch``: put GraphiQL's pinned files under ``.graphiql/``.

Run by ``make install`` (and ``make run``/``make test``, which need it).  Each release
is fetched with npm's own client (``npm pack``), its tarball checked against the
integrity pinned in ``app.graphiql.RELEASES`` (sha512, as in a package-lock), and only
the files the page loads are kept.  Nothing is fetched when every file is already there;
without npm the service falls back to the CDN, and this says so.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from app.graphiql import ASSETS_DIR, RELEASES, Release


class IntegrityError(Exception):
    """A tarball is not the release pinned: it is thrown away, nothing is installed."""


def integrity_of(tarball: bytes) -> str:
    """The Subresource Integrity string npm records for a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()


def missing(assets: Path = ASSETS_DIR) -> list[Release]:
    return [r for r in RELEASES if not all((assets / p).is_file() for p in r.paths())]


def install(release: Release, tarball: bytes, assets: Path = ASSETS_DIR) -> None:
    """Check ``tarball`` against the pinned integrity, then write the release's files."""
    found = integrity_of(tarball)
    if found != release.integrity:
        raise IntegrityError(f"{release.spec}: integrity {found}, expected {release.integrity}")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "package.tgz"
        path.write_bytes(tarball)
        with tarfile.open(path) as archive:
            for file, target in zip(release.files, release.paths(), strict=True):
                member = archive.extractfile(f"package/{file}")
                if member is None:
                    raise IntegrityError(f"{release.spec} has no file {file}")
                destination = assets / target
                destination.parent.mkdir(parents=True, exist_ok=True)
                partial = destination.with_name(destination.name + ".part")
                partial.write_bytes(member.read())
                partial.replace(destination)


def npm_pack(release: Release) -> bytes:
    """The release's tarball, downloaded from the npm registry by npm."""
    npm = shutil.which("npm")
    assert npm is not None
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(  # noqa: S603 (a fixed command; the spec is one of ours)
            [npm, "pack", release.spec, "--silent", "--pack-destination", scratch],
            check=True, stdout=subprocess.DEVNULL, cwd=scratch,
        )  # fmt: skip
        (tarball,) = Path(scratch).glob("*.tgz")
        return tarball.read_bytes()


def main() -> int:
    needed = missing()
    if not needed:
        return 0
    if shutil.which("npm") is None:
        print("npm is not installed: GraphiQL will load its files from the CDN (needs internet)")
        return 0
    for release in needed:
        install(release, npm_pack(release))
        print(f"GraphiQL: {release.spec} checked ({release.integrity[:19]}…) into {ASSETS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
