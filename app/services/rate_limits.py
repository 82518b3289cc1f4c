"""Rate limits that hold across workers and instances, counted in PostgreSQL.

**Sign-in attempts** (``SignInThrottle``) are few and slow (each costs an Argon2
hash), so each one asks PostgreSQL: failures are counted per email and per client
address; ``attempts`` failures within ``window`` lock that subject out for
``lockout`` seconds, doubling with every further lockout up to ``max_lockout``
(``sign_in_failed``, migration 0012).  A locked subject is refused before its
password is looked at, whether or not the email has an account.  A successful
sign-in clears its email's record.

**Requests per API key or user** (``RequestLimiter``) are the hot path, which must
not pay a round trip each: every worker counts its requests in memory per subject
and fixed window (``admit``: a few dictionary operations, about a microsecond),
and every ``sync`` seconds, in the background, adds its counts to
``request_counts`` and reads back the total across all workers of every subject
it has seen this window, in one statement.  A request is refused once the last
total known plus what was counted here since reaches ``limit``, until the window
ends (``Retry-After``).  The bound: a worker learns of the others' requests at its
next sync, so each worker can admit past the limit at most what it serves that
subject in one sync interval; with W workers each serving a subject r requests a
second and a sync every s seconds, at most W·r·s requests over the limit per
window.  If PostgreSQL cannot be reached, the counts wait in memory and each
worker limits on what it knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass

from app.db.driver_pool import DriverPool
from app.services.unit_of_work import fetch

logger = logging.getLogger("credit_ledger.rate_limits")


@dataclass(frozen=True)
class SignInPolicy:
    attempts: int = 5
    window_seconds: float = 60.0
    lockout_seconds: float = 60.0
    max_lockout_seconds: float = 3600.0


_LOCKED_FOR = (
    "SELECT coalesce(max(extract(epoch FROM locked_until - now())), 0)::float8"
    " FROM sign_in_throttle WHERE subject = ANY($1::text[]) AND locked_until > now()"
)
_FAILED = "SELECT sign_in_failed($1::text[], $2, $3, $4, $5)"
_SUCCEEDED = "DELETE FROM sign_in_throttle WHERE subject = $1"


def sign_in_subjects(email: str, address: str | None) -> list[str]:
    subjects = [f"email:{email}"] + ([f"address:{address}"] if address else [])
    return sorted(subjects)


def retry_after(seconds: float) -> int:
    """Whole seconds to wait, at least one."""
    return max(1, math.ceil(seconds))


class SignInThrottle:
    def __init__(self, pool: DriverPool, policy: SignInPolicy) -> None:
        self._pool = pool
        self._policy = policy

    async def locked_for(self, subjects: list[str]) -> float:
        """Seconds until every subject may try again; 0 when they may now."""
        return float(await fetch(self._pool.fetchval, _LOCKED_FOR, (subjects,)))

    async def failed(self, subjects: list[str]) -> None:
        policy = self._policy
        await fetch(
            self._pool.fetchval,
            _FAILED,
            (subjects, policy.attempts, policy.window_seconds, policy.lockout_seconds,
             policy.max_lockout_seconds),
        )  # fmt: skip

    async def succeeded(self, email: str) -> None:
        await fetch(self._pool.fetchval, _SUCCEEDED, (f"email:{email}",))


ADD_COUNTS = """
WITH added AS (
    INSERT INTO request_counts AS c (subject, window_start, requests)
    SELECT u.subject, to_timestamp(u.window_start), u.requests
      FROM unnest($1::text[], $2::float8[], $3::bigint[]) AS u(subject, window_start, requests)
     ORDER BY 1, 2
    ON CONFLICT (subject, window_start) DO UPDATE SET requests = c.requests + EXCLUDED.requests
    RETURNING c.subject, c.window_start, c.requests
)
SELECT subject, extract(epoch FROM window_start)::float8 AS window_start, requests FROM added
UNION ALL
SELECT subject, extract(epoch FROM window_start)::float8, requests FROM request_counts
 WHERE subject = ANY($4::text[]) AND window_start = to_timestamp($5::float8)
"""
"""What a sync runs: this worker's counts added, every subject's total read back.  A
sync runs in the background, in no request."""
PRUNE = "DELETE FROM request_counts WHERE window_start < now() - make_interval(secs => $1)"
PRUNE_EVERY_SECONDS = 60.0


class RequestLimiter:
    def __init__(
        self, pool: DriverPool, *, limit: int, window_seconds: int, sync_seconds: float
    ) -> None:
        self._pool = pool
        self.limit = limit
        self._window_seconds = window_seconds
        self._sync_seconds = sync_seconds
        self._window = 0
        self._totals: dict[str, int] = {}
        """Each subject's count across all workers at the last sync, this window."""
        self._pending: dict[tuple[str, int], int] = {}
        """Requests counted here and not yet added up in PostgreSQL."""
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    def admit(self, subject: str) -> float | None:
        """Count a request of ``subject``: ``None`` if it may go ahead, else the
        seconds until its window ends."""
        now = time.time()
        window = int(now // self._window_seconds) * self._window_seconds
        if window != self._window:
            self._window = window
            self._totals = {}
        key = (subject, window)
        pending = self._pending.get(key, 0)
        if self._totals.get(subject, 0) + pending >= self.limit:
            return window + self._window_seconds - now
        self._pending[key] = pending + 1
        return None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_syncing())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.sync()

    async def _keep_syncing(self) -> None:
        while True:
            await asyncio.sleep(self._sync_seconds)
            try:
                await self.sync()
            except Exception:  # keep counting; the next sync adds these counts too
                logger.warning("could not add up request counts", exc_info=True)

    async def sync(self) -> None:
        """Add this worker's counts to PostgreSQL's, and learn the totals of every
        subject seen this window, whether or not it came here since."""
        batch, self._pending = self._pending, {}
        keys = sorted(batch)
        seen = sorted(self._totals.keys() - {subject for subject, _ in keys})
        if not keys and not seen:
            return
        try:
            rows = await fetch(
                self._pool.fetch,
                ADD_COUNTS,
                ([s for s, _ in keys], [w for _, w in keys], [batch[k] for k in keys],
                 seen, self._window),
            )  # fmt: skip
        except BaseException:
            for key, count in batch.items():
                self._pending[key] = self._pending.get(key, 0) + count
            raise
        for row in rows:
            if round(row["window_start"]) == self._window:
                self._totals[row["subject"]] = row["requests"]
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self._pruned_at = time.monotonic()
            await fetch(self._pool.fetchval, PRUNE, (2 * self._window_seconds + 60,))
