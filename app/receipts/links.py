"""Receipt links: a URL that opens one order's receipt without an API key.

A shop sends the link to its customer, so it grants that one receipt and nothing
else, for a while:

- the token is the business id and the order id, signed by itsdangerous
  (``URLSafeTimedSerializer``: HMAC-SHA256 over the payload and the time of
  signing) with a salt of its own, so no other token made with the same key
  passes for one;
- it works for ``RECEIPT_LINK_DAYS`` days; past them it is ``Expired`` (410), and
  any other token, altered, forged or for another order, is ``Refused`` (403);
- the key is ``SECRET_KEY`` or, unset, the one migration 0010 generated in the
  database, read once per worker when first needed: every worker and instance
  agree, and a restart voids no link.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from starlette.datastructures import URL
from starlette.requests import Request

from app.config import Settings
from app.db.driver_pool import DriverPool
from app.services.unit_of_work import fetch

SALT = "receipt-link"
DAY_SECONDS = 24 * 60 * 60
_KEY = "SELECT secret FROM service_secrets WHERE name = 'receipt_links'"


class Refused(Exception):  # noqa: N818  (named for the answer: 403)
    """Not a link to this receipt (403)."""


class Expired(Exception):  # noqa: N818  (named for the answer: 410)
    """A link to this receipt, signed longer ago than links work (410)."""


class ReceiptLinks:
    def __init__(self, settings: Settings, pool: DriverPool) -> None:
        if settings.receipt_link_days < 1:
            raise ValueError("RECEIPT_LINK_DAYS must be at least 1")
        self.max_age = settings.receipt_link_days * DAY_SECONDS
        self._trust_forwarded = settings.trust_forwarded_headers
        self._secret = settings.secret_key.encode() if settings.secret_key else None
        self._pool = pool
        self._serializer: URLSafeTimedSerializer | None = None

    async def serializer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            secret = self._secret or await fetch(self._pool.fetchval, _KEY, ())
            if secret is None:
                raise RuntimeError("no receipt link key: is the database migrated?")
            self._serializer = URLSafeTimedSerializer(
                secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
            )
        return self._serializer

    async def url(self, request: Request, *, business_id: int, order_id: int) -> str:
        """The link to the receipt of ``order_id``, at the address ``request`` came to."""
        token = (await self.serializer()).dumps([business_id, order_id])
        base = public_base_url(request, trust_forwarded=self._trust_forwarded)
        query = urlencode({"token": token})
        return str(base.replace(path=f"{base.path}receipts/{order_id}", query=query))

    async def business_of(self, token: str, order_id: int) -> int:
        """The business whose order ``order_id`` the token opens, or ``Refused``/``Expired``."""
        try:
            payload = (await self.serializer()).loads(token, max_age=self.max_age)
        except SignatureExpired as exc:  # checked only once the signature is good
            raise Expired from exc
        except BadData as exc:
            raise Refused from exc
        match payload:
            case [int(business_id), int(signed_order)] if signed_order == order_id:
                return business_id
        raise Refused


def public_base_url(request: Request, *, trust_forwarded: bool) -> URL:
    """The request's base URL; behind a trusted proxy, the scheme and host it was sent to."""
    base = request.base_url
    if not trust_forwarded:
        return base
    scheme = _first(request.headers.get("x-forwarded-proto")).lower()
    host = _first(request.headers.get("x-forwarded-host"))
    if scheme in ("http", "https"):
        base = base.replace(scheme=scheme)
    if host:
        base = base.replace(netloc=host)
    return base


def _first(header: str | None) -> str:
    """The first of a header's comma-separated values (the client-side proxy's)."""
    return (header or "").split(",", 1)[0].strip()
