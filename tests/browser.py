"""Headless Chromium driven over the DevTools protocol, for tests that use a page.

Debian's ``chromium`` is started with ``--remote-debugging-port=0``; it prints the
address of its DevTools websocket, and one connection to it drives one page (a
target attached in flat mode).  Clicks and typing are the input events a person's
mouse and keyboard make (``Input.dispatchMouseEvent``, ``Input.insertText``).

The browser has no network but the machine itself: every request to another host
goes to a proxy that does not exist (``--proxy-server``; Chromium never sends loopback
addresses or ``localhost`` through a proxy), and resolving any other name fails
(``--host-resolver-rules``).  A network namespace would be stronger but would also
cut the browser off from the service under test.  The page records every URL it
requested (``requests``), so a test can show that none left the machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from bench.service import free_port

TIMEOUT = 30.0


def chromium_or_skip() -> str:
    """Debian's Chromium, or skip; in CI it must be there (``make chromium``)."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; .ci/run installs it (make chromium)")
        pytest.skip("chromium is missing (make chromium)")
    return found


class Page:
    """One tab, over one DevTools connection."""

    def __init__(self, socket: ClientConnection, session: str) -> None:
        """``session``: the attached target's; empty for the browser itself."""
        self.socket = socket
        self.session = session
        self.requests: list[str] = []
        """Every URL the page asked for, in order."""
        self.console: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loaded = asyncio.Event()

    def on_message(self, message: dict[str, Any]) -> None:
        if "id" in message:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", "")) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            self.console.append(str(params["exceptionDetails"].get("exception", {})))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        request: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self.session:  # else a command to the browser itself
            request["sessionId"] = self.session
        await self.socket.send(json.dumps(request))
        answer = await asyncio.wait_for(future, TIMEOUT)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]  # type: ignore[no-any-return]

    async def goto(self, url: str) -> None:
        self._loaded.clear()
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(self._loaded.wait(), TIMEOUT)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = TIMEOUT) -> Any:
        """The expression's value once truthy, checked every 100 ms."""
        async with asyncio.timeout(seconds):
            # Polling, as a person looks again: the page offers no event for "shows X".
            while not (value := await self.evaluate(expression)):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        return value

    async def click(self, selector: str) -> None:
        """Press and release the mouse in the middle of the first element ``selector`` finds."""
        box = await self.wait_for(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; const r = e.getBoundingClientRect();"
            " return r.width ? {x: r.x + r.width / 2, y: r.y + r.height / 2} : null; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                button="left", clickCount=1,
            )  # fmt: skip

    async def press(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """A key down and up (``modifiers``: 2 is Ctrl)."""
        for kind in ("rawKeyDown", "keyUp"):
            await self.send(
                "Input.dispatchKeyEvent", type=kind, key=key, code=code,
                windowsVirtualKeyCode=key_code, modifiers=modifiers,
            )  # fmt: skip

    async def type(self, text: str) -> None:
        await self.send("Input.insertText", text=text)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def open_page(chromium: str, profile: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium (its own profile) with one blank page, no network."""
    dead_proxy = free_port()  # nothing listens there
    process = await asyncio.create_subprocess_exec(
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-default-apps", "--disable-sync", "--window-size=1280,900",
        f"--user-data-dir={profile}", "--remote-debugging-port=0",
        f"--proxy-server=http://127.0.0.1:{dead_proxy}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            while not (found := re.search(rb"DevTools listening on (ws://\S+)", line := await process.stderr.readline())):  # fmt: skip  # noqa: E501
                if not line:
                    raise RuntimeError("chromium exited before opening DevTools")
        drain = asyncio.create_task(process.stderr.read())
        async with connect(found[1].decode(), max_size=None) as socket:
            browser = Page(socket, session="")
            page: Page | None = None

            async def dispatch() -> None:
                async for raw in socket:
                    message = json.loads(raw)
                    owner = page if page and message.get("sessionId") == page.session else browser
                    owner.on_message(message)

            reader = asyncio.create_task(dispatch())
            target = await browser.send("Target.createTarget", url="about:blank")
            attached = await browser.send(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            page = Page(socket, attached["sessionId"])
            for domain in ("Page", "Network", "Runtime"):
                await page.send(f"{domain}.enable")
            try:
                yield page
            finally:
                reader.cancel()
        drain.cancel()
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
