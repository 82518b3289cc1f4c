"""The per-request deadline: no request holds a worker for longer than it.

A request that waits (on a lock, a slow statement, a connection) is cancelled at
its deadline by ``asyncio.timeout`` and answered ``TRY_AGAIN`` (``app.main``).

A request that computes cannot be cancelled that way: the event loop only turns
between awaits, so while Python runs one request's code, nothing else of the worker
runs, ``/healthz`` and the handling of ``SIGTERM`` included.  ``LoopWatchdog``
covers that case: the loop marks the time every ``BEAT_SECONDS``; a thread checks
the mark, and once the loop has not turned for the deadline it sends ``SIGUSR1`` to
the main thread, whose handler raises ``DeadlineExceeded`` in whatever Python code
is running there (CPython runs signal handlers in the main thread between bytecodes).
The running request then fails with ``QUERY_TOO_COMPLEX`` and the loop moves on.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from types import FrameType

BEAT_SECONDS = 0.1


class DeadlineExceeded(Exception):  # noqa: N818  (named for what happened, like TryAgain)
    """The request's code ran past the deadline without giving the loop a turn."""


class LoopWatchdog:
    """Interrupts Python code that has held the event loop for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._beat = time.monotonic()
        self._stopped = threading.Event()
        self._handle: asyncio.TimerHandle | None = None
        self._main = threading.main_thread().ident

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Must be called from the main thread, in ``loop``."""
        signal.signal(signal.SIGUSR1, self._interrupt)
        self._tick(loop)
        threading.Thread(target=self._watch, name="loop-watchdog", daemon=True).start()

    def stop(self) -> None:
        """Stops watching; the handler stays, ignoring a signal still on its way."""
        self._stopped.set()
        if self._handle is not None:
            self._handle.cancel()

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._beat = time.monotonic()
        self._handle = loop.call_later(BEAT_SECONDS, self._tick, loop)

    def _watch(self) -> None:
        while not self._stopped.wait(BEAT_SECONDS):
            if time.monotonic() - self._beat > self.seconds and self._main is not None:
                self._beat = time.monotonic()  # once per deadline, not at every check
                signal.pthread_kill(self._main, signal.SIGUSR1)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self._stopped.is_set():
            return
        raise DeadlineExceeded(
            f"The request ran for more than {self.seconds:g} s of the server's time;"
            " ask for less in one request."
        )
