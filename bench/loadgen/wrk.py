"""Drive the service with wrk: C, epoll and LuaJIT, so the generator stays cheap.

The plan is written into a generated Lua script (constants first, then
``wrk.lua``); wrk reports through a small key/value file written by ``done()``,
and the latency of every answer, timed by the script, through a second one.  The
percentiles are those answers' latencies, as the Python generator reports them;
wrk's own figures are not (``wrk.lua`` says why), and its p99 is kept in
``extra["wrk_corrected_p99_ms"]``.  The generator's own CPU time comes from
``wait4`` on the wrk process.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.loadgen.plan import Outcome, Plan

SCRIPT = Path(__file__).with_name("wrk.lua")


def available() -> bool:
    return shutil.which("wrk") is not None


def install() -> bool:
    """Install Debian's wrk when we may (root, apt); say what happened either way."""
    if available():
        return True
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("wrk is not installed and cannot be installed here (needs root and apt-get)")
        return False
    print("installing wrk with apt-get ...")
    if _apt("install", "-y", "wrk"):
        _apt("update")
        _apt("install", "-y", "wrk")
    if not available():
        print("apt-get could not install wrk")
    return available()


def _apt(*args: str) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = subprocess.DEVNULL
    return subprocess.run(
        ["apt-get", *args], env=env, check=False, stdout=quiet, stderr=quiet
    ).returncode


def lua_string(value: str) -> str:
    out = []
    for char in value:
        if char in '\\"':
            out.append("\\" + char)
        elif ord(char) < 32:
            out.append(f"\\{ord(char):03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_list(values: list[str]) -> str:
    return "{" + ",".join(lua_string(v) for v in values) + "}"


def script_for(plan: Plan, out_path: Path) -> str:
    pools = ",\n".join(f"  [{lua_string(k)}] = {lua_list(v)}" for k, v in plan.pools.items())
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {plan.token}"}
    header_lines = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    return (
        f"parts = {lua_list(plan.parts)}\n"
        f"pools = {{\n{pools}\n}}\n"
        f"ok = {lua_list(plan.ok)}\n"
        f"refusals = {lua_list(plan.refusals)}\n"
        f"headers = {{{header_lines}}}\n"
        f"key_prefix = {lua_string(plan.key_prefix)}\n"
        f"out_path = {lua_string(str(out_path))}\n" + SCRIPT.read_text()
    )


def run(plan: Plan, *, threads: int = 1) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        out_path = Path(tmp) / "result.txt"
        script = Path(tmp) / "plan.lua"
        script.write_text(script_for(plan, out_path))
        seconds = max(1, math.ceil(plan.seconds))
        command = [
            "wrk", f"-t{threads}", f"-c{plan.clients}", f"-d{seconds}s",
            f"--timeout={math.ceil(plan.timeout_s)}s", "-s", str(script),
            f"http://{plan.host}:{plan.port}{plan.path}",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""
        if process.returncode != 0 or not out_path.exists():
            raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
        latencies_us = Path(f"{out_path}.latencies").read_text().split()
        return _outcome(out_path.read_text(), latencies_us, usage.ru_utime + usage.ru_stime)


def _outcome(report: str, latencies_us: list[str], cpu_s: float) -> Outcome:
    values: dict[str, str] = {}
    for line in report.splitlines():
        name, _, value = line.partition(" ")
        values[name] = value
    number = {k: float(v) for k, v in values.items() if k != "error_sample"}
    if number["untimed"]:
        raise RuntimeError(
            f"{number['untimed']:.0f} answers did not echo their X-Request-Id, so their latency"
            " is unknown; BENCH_GENERATOR=python times every answer"
        )
    outcome = Outcome(
        generator="wrk",
        seconds=number["duration_us"] / 1e6,
        requests=int(number["requests"]),
        ok=int(number["ok"]),
        refused=int(number["refused"]),
        http_errors=int(number["http_errors"]),
        graphql_errors=int(number["graphql_errors"]),
        unexpected=int(number["unexpected"]),
        timeouts=int(number["timeouts"]),
        socket_errors=int(number["socket_errors"]),
        error_sample=values.get("error_sample", "").strip(),
        generator_cpu_s=cpu_s,
        extra={"wrk_corrected_p99_ms": number["wrk_corrected_p99_us"] / 1000},
    )
    outcome.observed([int(us) / 1e6 for us in latencies_us])
    return outcome
