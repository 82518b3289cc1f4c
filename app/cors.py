"""Cross-origin requests from browser apps (``CORS_ORIGINS``).

A till's web app served from another origin calls the API with an API key or an
access token in ``Authorization``; the browser first asks (a preflight) whether that
origin may send that header.  Only the listed origins may; none by default.  An entry
is an origin (``https://till.example.com``), or one whose port is ``*`` for any port
(``http://localhost:*``, for development servers).  The service sets no cookie, so
no request needs credentials mode: ``Access-Control-Allow-Credentials`` is never sent,
and the allowed origin is echoed, never ``*``.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from app.graphql.http import error_response

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "X-Request-Id")
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")
PREFLIGHT_SECONDS = 600


ORIGIN = re.compile(r"(?P<base>https?://[a-z0-9.-]+)(?::(?P<port>\*|[0-9]{1,5}))?", re.IGNORECASE)


def origin_pattern(origin: str) -> str:
    """A regular expression matching ``origin``; a port ``*`` matches any port, or none."""
    parsed = ORIGIN.fullmatch(origin)
    if parsed is None:
        raise ValueError(
            "CORS_ORIGINS takes origins such as https://till.example.com or "
            f"http://localhost:* (any port), not {origin!r}"
        )
    base, port = re.escape(parsed["base"].lower()), parsed["port"]
    if port == "*":
        return f"{base}(:[0-9]+)?"
    return base if port is None else f"{base}:{port}"


class _CORS(CORSMiddleware):
    """Starlette's, its refused preflights answered as JSON, like every other refusal."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code != 400:
            return answer
        return error_response(400, bytes(answer.body).decode(errors="replace"))


def with_cors(app: ASGIApp, origins: tuple[str, ...]) -> ASGIApp:
    """``app`` answering preflights and marking answers for ``origins``; ``app`` if none."""
    if not origins:
        return app
    return _CORS(
        app,
        allow_origin_regex="|".join(f"(?:{origin_pattern(o)})" for o in origins),
        allow_methods=("GET", "POST"),
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_SECONDS,
    )
