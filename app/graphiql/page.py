"""The GraphiQL page and its files, from ``.graphiql/`` when there, else the CDN."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from app.graphiql import ASSET_PATHS, ASSETS_DIR, CDN, ROUTE
from app.graphql.http import error_response

log = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
"""Each file's path names its version: a browser may keep it for good."""


def graphiql_page(assets: Path = ASSETS_DIR) -> str:
    """Strawberry's GraphiQL page, loading its files from the service when all are here."""
    html = get_graphql_ide_html("graphiql")
    absent = sorted(path for path in ASSET_PATHS if not (assets / path).is_file())
    if absent:
        log.warning(
            "GraphiQL loads from the CDN: %s missing in %s (make install fetches it)",
            ", ".join(absent), assets,
        )  # fmt: skip
        return html
    for path in ASSET_PATHS:
        html = html.replace(f'"{CDN}{path}"', f'"{ROUTE}{path}"')
    return html


def asset_route(assets: Path = ASSETS_DIR) -> Callable[[Request], Awaitable[Response]]:
    """``GET /graphiql/{path}``: one of the pinned files, nothing else."""

    async def asset(request: Request) -> Response:
        path = request.path_params["path"]
        if path not in ASSET_PATHS or not (assets / path).is_file():
            return error_response(404, "No such GraphiQL file.")
        return FileResponse(assets / path, headers={"Cache-Control": IMMUTABLE})

    return asset
