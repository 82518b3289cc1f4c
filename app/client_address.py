"""The client's address, as sign-in throttling counts it.

Without a proxy it is the peer's address.  Behind one (``TRUST_FORWARDED_HEADERS=on``,
the same setting that lets receipt links use ``X-Forwarded-Proto`` and
``X-Forwarded-Host``) it is the last address of ``X-Forwarded-For``: the one the
proxy appended, the only one a client cannot choose.  Addresses before it are
whatever the client sent, so they are never believed.  Uvicorn's own proxy-header
handling stays off, so there is one switch, not two.
"""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request, *, trust_forwarded: bool) -> str | None:
    if trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    client = request.client
    return None if client is None else client.host
