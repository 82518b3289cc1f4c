"""GraphiQL served by the service itself, so that it opens on a till with no internet.

Strawberry's GraphiQL page loads seven files (React, GraphiQL, its explorer plugin,
their styles) from a CDN.  ``make install`` fetches the same pinned releases from the
npm registry (``npm pack``), checks each tarball against the sha512 integrity pinned
here, and keeps only those seven files under ``.graphiql/`` (git-ignored: no
third-party minified code in the repository).  The page then points at
``/graphiql/…`` on the service; the ``integrity`` attributes of Strawberry's page stay,
so the browser checks the files too.  Were a file missing, the page is Strawberry's
own, from the CDN.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import PROJECT_ROOT

ASSETS_DIR = PROJECT_ROOT / ".graphiql"
CDN = "https://unpkg.com/"
ROUTE = "/graphiql/"


@dataclass(frozen=True)
class Release:
    """One npm package at one version, its tarball's integrity, the files the page needs."""

    name: str
    version: str
    integrity: str
    files: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    def paths(self) -> list[str]:
        """Each file as the CDN and the service name it: ``react@18.2.0/umd/react….js``."""
        return [f"{self.spec}/{file}" for file in self.files]


RELEASES = (
    Release(
        "react", "18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        ("umd/react.production.min.js",),
    ),
    Release(
        "react-dom", "18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        ("umd/react-dom.production.min.js",),
    ),
    Release(
        "js-cookie", "3.0.5",
        "sha512-cEiJEAEoIbWfCZYKWhVwFuvPX1gETRYPw6LlaTKoxD3s2AkXzkCjnp6h0V77ozyqj0jakteJ4YqDJT830+lVGw==",
        ("dist/js.cookie.min.js",),
    ),
    Release(
        "graphiql", "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        ("graphiql.min.css", "graphiql.min.js"),
    ),
    Release(
        "@graphiql/plugin-explorer", "1.0.2",
        "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
        ("dist/style.css", "dist/index.umd.js"),
    ),
)  # fmt: skip
"""The releases Strawberry's GraphiQL page names (a unit test keeps the two in step)."""

ASSET_PATHS = frozenset(path for release in RELEASES for path in release.paths())
