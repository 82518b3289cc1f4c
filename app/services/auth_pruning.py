"""``sessions prune``: delete what sign-in leaves behind once it can matter no more.

- Sessions that ended (expired or revoked) more than ``older_than_days`` ago, with
  their refresh tokens.  An ended session's tokens are refused whether stored or not,
  so deleting them changes no answer; migration 0018 lets the owner see and delete
  such rows only, and only once they ended a day ago.
- ``sign_in_throttle`` rows whose last failure window began over a day ago and whose
  lockout (if any) is over: ``sign_in_failed`` treats such a row as a fresh one (a day
  without failures forgets past lockouts), so deleting it changes no answer either.

``request_counts`` need nothing here: the service deletes past windows every minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MIN_RETENTION_DAYS = 1
"""Ended sessions are kept at least this long; migration 0018's policies say the same."""

_ENDED = "least(s.revoked_at, s.expires_at) < now() - make_interval(days => :days)"
_TOKENS = text(
    "DELETE FROM refresh_tokens t USING user_sessions s"
    f" WHERE s.business_id = t.business_id AND s.id = t.session_id AND {_ENDED}"
)
_SESSIONS = text(f"DELETE FROM user_sessions s WHERE {_ENDED}")
_THROTTLE = text(
    "DELETE FROM sign_in_throttle WHERE window_start < now() - interval '1 day'"
    " AND (locked_until IS NULL OR locked_until < now())"
)


@dataclass(frozen=True)
class Pruned:
    sessions: int
    refresh_tokens: int
    throttle_rows: int


async def prune_sign_in_leftovers(engine: AsyncEngine, *, older_than_days: int) -> Pruned:
    """Delete, as the owner, sessions ended ``older_than_days`` ago and stale throttle rows."""
    if older_than_days < MIN_RETENTION_DAYS:
        raise ValueError(f"ended sessions are kept at least {MIN_RETENTION_DAYS} day")
    async with engine.begin() as connection:
        tokens = await connection.execute(_TOKENS, {"days": older_than_days})
        sessions = await connection.execute(_SESSIONS, {"days": older_than_days})
        throttle = await connection.execute(_THROTTLE)
    return Pruned(
        sessions=int(getattr(sessions, "rowcount", 0)),
        refresh_tokens=int(getattr(tokens, "rowcount", 0)),
        throttle_rows=int(getattr(throttle, "rowcount", 0)),
    )
