"""uvicorn's HTTP protocol (httptools) with the two bounds a public server needs.

- **Header timeout.**  uvicorn closes a connection idle after a response (keep-alive
  timeout), but waits for ever on one that never sends its request, or sends the
  headers a byte at a time: each such client held a connection slot for as long as it
  liked.  Here the request's headers must all arrive within ``HEADER_TIMEOUT_SECONDS``
  of the connection opening or of the previous response; past it the client gets 408
  and the connection is closed.  A body that is slow to arrive is bounded by the
  request's deadline (``app.main.RequestContext``).
- **Connection cap.**  Past ``MAX_CONNECTIONS`` open connections in a worker, a new one
  is answered 503 ``TRY_AGAIN`` with ``Retry-After`` and closed: as JSON, like every
  other answer (uvicorn's own ``limit_concurrency`` answers in plain text).

``serve`` names this class as uvicorn's ``http`` implementation.
"""

from __future__ import annotations

import asyncio
import functools

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings
from app.graphql.http import RETRY_AFTER_SECONDS
from app.services.retry import BUSY


def _raw_answer(status: str, message: str, code: str) -> bytes:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    )
    if status.startswith("503"):
        head += f"retry-after: {RETRY_AFTER_SECONDS}\r\n"
    return head.encode() + b"\r\n" + body


@functools.cache
def _bounds() -> tuple[float, int, bytes, bytes]:
    """Read once per process: each worker builds its settings from the environment."""
    settings = Settings.from_env()
    return (
        settings.header_timeout_seconds,
        settings.max_connections,
        _raw_answer(
            "408 Request Timeout",
            f"The request's headers did not arrive within {settings.header_timeout_seconds:g} s.",
            "BAD_USER_INPUT",
        ),
        _raw_answer("503 Service Unavailable", BUSY, "TRY_AGAIN"),
    )


class BoundedHttpProtocol(HttpToolsProtocol):
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _, max_connections, _, busy = _bounds()
        if len(self.connections) > max_connections:
            transport.write(busy)
            transport.close()
            return
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(_bounds()[0], self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        """No request in progress (none yet, or the last one answered): close."""
        self._header_timer = None
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self.transport.write(_bounds()[2])
            self.transport.close()
