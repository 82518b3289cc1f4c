"""The loop watchdog interrupts code that holds the event loop past the deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.deadline import DeadlineExceeded, LoopWatchdog


def test_code_holding_the_loop_is_interrupted_at_the_deadline_and_the_loop_goes_on() -> None:
    async def computes() -> None:
        while True:  # never awaits: only the watchdog can stop it
            pass

    async def main() -> tuple[float, list[str]]:
        watchdog = LoopWatchdog(0.3)
        watchdog.start(asyncio.get_running_loop())
        others: list[str] = []
        asyncio.get_running_loop().call_later(0.05, others.append, "ran after")  # due meanwhile
        started = time.monotonic()
        try:
            with pytest.raises(DeadlineExceeded, match=r"more than 0\.3 s"):
                await asyncio.create_task(computes())
            elapsed = time.monotonic() - started
            await asyncio.sleep(0.5)  # an idle loop is never interrupted
        finally:
            watchdog.stop()
        return elapsed, others

    elapsed, others = asyncio.run(main())
    assert 0.3 <= elapsed < 1.0
    assert others == ["ran after"]
