"""A lean fallback when wrk is missing: raw asyncio HTTP/1.1 over keep-alive connections.

It runs in its own process (``python -m bench.loadgen.pyload plan.json out.json``)
so its CPU is measured apart from the harness, on uvloop, with one
connection per client and request bytes assembled from pre-encoded parts.  Only
answers completed before the deadline count, as with wrk.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import orjson
import uvloop

from bench.loadgen.plan import KEY, Outcome, Plan, classify


class _Client:
    def __init__(self, plan: Plan, number: int, outcome: Outcome, latencies: list[float]) -> None:
        self.plan = plan
        self.outcome = outcome
        self.latencies = latencies
        self.literals = [part.encode() for part in plan.parts[0::2]]
        self.names = plan.parts[1::2]
        self.pools = {name: [v.encode() for v in values] for name, values in plan.pools.items()}
        self.key_prefix = f"{plan.key_prefix}{number}-".encode()
        self.counter = 0
        self.ok, self.refusals = plan.typenames()
        self.head = (
            f"POST {plan.path} HTTP/1.1\r\nHost: {plan.host}:{plan.port}\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer {plan.token}\r\n"
            "Content-Length: "
        ).encode()

    def body(self) -> bytes:
        chunks = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:], strict=True):
            if name == KEY:
                self.counter += 1
                chunks.append(self.key_prefix + str(self.counter).encode())
            else:
                chunks.append(random.choice(self.pools[name]))
            chunks.append(literal)
        return b"".join(chunks)

    async def run(self, deadline: float) -> None:
        connection = None
        while time.perf_counter() < deadline:
            if connection is None:
                try:
                    connection = await asyncio.open_connection(self.plan.host, self.plan.port)
                except OSError:
                    self.outcome.socket_errors += 1
                    await asyncio.sleep(0.05)
                    continue
            reader, writer = connection
            body = self.body()
            started = time.perf_counter()
            writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            try:
                status, answer = await asyncio.wait_for(_read_response(reader), self.plan.timeout_s)
            except TimeoutError:
                if time.perf_counter() <= deadline:
                    self.outcome.timeouts += 1
                writer.close()
                connection = None
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.outcome.socket_errors += 1
                writer.close()
                connection = None
                continue
            finished = time.perf_counter()
            if finished > deadline:
                break
            self.latencies.append(finished - started)
            self._classify(status, answer)
        if connection is not None:
            connection[1].close()

    def _classify(self, status: int, answer: bytes) -> None:
        outcome = self.outcome
        outcome.requests += 1
        verdict = classify(status, answer, self.ok, self.refusals)
        setattr(outcome, verdict, getattr(outcome, verdict) + 1)
        if verdict not in ("ok", "refused") and not outcome.error_sample:
            outcome.error_sample = f"{status} {answer[:300].decode(errors='replace')}"


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ValueError("response without Content-Length")
    return status, await reader.readexactly(length)


async def drive(plan: Plan) -> Outcome:
    outcome = Outcome(generator="python", seconds=plan.seconds)
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + plan.seconds
    clients = [_Client(plan, n, outcome, latencies) for n in range(1, plan.clients + 1)]
    await asyncio.gather(*(client.run(deadline) for client in clients))
    outcome.seconds = min(time.perf_counter(), deadline) - started
    outcome.observed(latencies)
    return outcome


def run(plan: Plan) -> Outcome:
    """Run the generator in a child process; its CPU time comes from ``wait4``."""
    with tempfile.TemporaryDirectory(prefix="bench-py-") as tmp:
        plan_path, out_path = Path(tmp) / "plan.json", Path(tmp) / "out.json"
        plan_path.write_bytes(plan.to_json())
        command = [sys.executable, "-m", "bench.loadgen.pyload", str(plan_path), str(out_path)]
        process = subprocess.Popen(command)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0 or not out_path.exists():
            raise RuntimeError(f"the Python load generator failed ({process.returncode})")
        outcome = Outcome(**orjson.loads(out_path.read_bytes()))
        outcome.generator_cpu_s = usage.ru_utime + usage.ru_stime
        return outcome


def main() -> None:
    plan_path, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    plan = Plan.from_json(plan_path.read_bytes())
    outcome = uvloop.run(drive(plan))
    out_path.write_bytes(orjson.dumps(asdict(outcome)))


if __name__ == "__main__":
    main()
