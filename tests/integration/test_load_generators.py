"""The bench's load generators report the latencies of the answers they got.

Against a stand-in server that answers 1 request in 200 after 200 ms and the
rest at once, the p99 of what the clients saw is fast and the maximum slow,
whichever generator drove it.  wrk's own p99 is not that: it adds made-up
samples below every slow answer (coordinated-omission correction), which is
why ``wrk.lua`` times the answers itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from bench.loadgen import pyload, wrk
from bench.loadgen.plan import Outcome, Plan, body_parts

SLOW_EVERY = 200
SLOW_S = 0.2


@dataclass
class StandIn:
    port: int
    echo_id: bool
    answered: int = 0


async def _serve(
    server: StandIn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            break
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        await reader.readexactly(int(fields.get(b"content-length", b"0")))
        server.answered += 1
        if server.answered % SLOW_EVERY == 0:
            await asyncio.sleep(SLOW_S)
        body = b'{"data": {"ok": true}}'
        echoed = b"x-request-id: " + fields.get(b"x-request-id", b"") + b"\r\n"
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + (echoed if server.echo_id else b"")
            + b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
    writer.close()


def _stand_in(echo_id: bool) -> Iterator[StandIn]:
    loop = asyncio.new_event_loop()
    server = StandIn(port=0, echo_id=echo_id)

    async def start() -> asyncio.Server:
        return await asyncio.start_server(lambda r, w: _serve(server, r, w), "127.0.0.1", 0)

    listening = loop.run_until_complete(start())
    server.port = listening.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        listening.close()
        loop.close()


@pytest.fixture
def echoing() -> Iterator[StandIn]:
    yield from _stand_in(echo_id=True)


@pytest.fixture
def silent() -> Iterator[StandIn]:
    yield from _stand_in(echo_id=False)


def _plan(port: int) -> Plan:
    return Plan(
        host="127.0.0.1", port=port, token="t", parts=body_parts("{ ok }", {}), pools={},
        ok=[], refusals=[], clients=4, seconds=2, key_prefix="gen-",
    )  # fmt: skip


GENERATORS = [
    pytest.param(wrk.run, id="wrk", marks=pytest.mark.skipif(not wrk.available(), reason="no wrk")),
    pytest.param(pyload.run, id="python"),
]


@pytest.mark.parametrize("drive", GENERATORS)
def test_percentiles_are_those_of_the_answers(
    drive: Callable[[Plan], Outcome], echoing: StandIn
) -> None:
    outcome = drive(_plan(echoing.port))

    assert outcome.requests > 5 * SLOW_EVERY, "too few answers for the test to mean anything"
    assert outcome.ok == outcome.requests
    # 1 answer in 200 is slow: the 99th percentile is a fast one, the maximum a slow one.
    assert outcome.p50_ms <= outcome.p95_ms <= outcome.p99_ms < SLOW_S * 1000 / 2
    assert outcome.max_ms >= SLOW_S * 1000
    if outcome.generator == "wrk":
        assert outcome.extra["wrk_corrected_p99_ms"] > outcome.p99_ms


@pytest.mark.skipif(not wrk.available(), reason="no wrk")
def test_wrk_refuses_to_report_latencies_it_could_not_time(silent: StandIn) -> None:
    with pytest.raises(RuntimeError, match="did not echo their X-Request-Id"):
        wrk.run(_plan(silent.port))
