"""One table for the whole run, and the same results as JSON under ``bench/results/``."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.loadgen.plan import Outcome
from bench.pgbench import PgbenchResult
from bench.workloads import Workload

RESULTS = Path(__file__).with_name("results")


@dataclass
class WorkloadResult:
    workload: Workload
    status: str
    """``ran``, ``skipped`` or ``failed``."""
    reason: str = ""
    outcome: Outcome | None = None
    invariants: dict[str, int] | None = None
    server_cpu_cores: float = 0.0
    machine_busy: float = 0.0
    """Share of all CPUs busy during the run (0-1), whoever used them."""
    notes: list[str] = field(default_factory=list)

    def ratio(self, pgbench: PgbenchResult | None) -> float | None:
        if self.outcome is None or pgbench is None or not pgbench.tps:
            return None
        return self.outcome.rps / pgbench.tps

    def verdict(self, pgbench: PgbenchResult | None) -> str:
        """PASS / FAIL against the issue's target, ``-`` when there is none."""
        if self.status != "ran" or self.outcome is None:
            return "FAIL" if self.status == "failed" else "-"
        target, outcome = self.workload.target, self.outcome
        broken = self.invariants is not None and any(self.invariants.values())
        if target is None:
            return "FAIL" if outcome.errors or broken else "-"
        ratio = self.ratio(pgbench)
        checks = [outcome.errors == 0, not broken]
        if target.min_ratio is not None:
            if ratio is None:
                return "n/a"
            checks.append(ratio >= target.min_ratio)
        if target.p95_ms is not None:
            checks.append(outcome.p95_ms < target.p95_ms)
        if target.p99_ms is not None:
            checks.append(outcome.p99_ms < target.p99_ms)
        return "PASS" if all(checks) else "FAIL"


HEADER = (
    f"{'workload':<18}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    f"{'refused':>9}{'errors':>8}{'x pgbench':>11}  {'invariants':<11}{'target':<22}result"
)


def _row(result: WorkloadResult, pgbench: PgbenchResult | None) -> str:
    name = result.workload.name
    target = result.workload.target.describe() if result.workload.target else "-"
    if result.outcome is None:
        reason = result.reason if len(result.reason) <= 120 else result.reason[:117] + "..."
        return f"{name:<18}{result.status} ({reason})"
    o = result.outcome
    ratio = result.ratio(pgbench)
    ratio_text = f"{ratio:.3f}" if ratio is not None else "n/a"
    if result.invariants is None:
        invariants = "-"
    else:
        invariants = "BROKEN" if any(result.invariants.values()) else "hold"
    return (
        f"{name:<18}{o.rps:>9.1f}{o.p50_ms:>9.1f}{o.p95_ms:>9.1f}{o.p99_ms:>9.1f}"
        f"{o.refused:>9}{o.errors:>8}{ratio_text:>11}  {invariants:<11}{target:<22}"
        f"{result.verdict(pgbench)}"
    )


def table(results: list[WorkloadResult], pgbench: PgbenchResult | None) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    lines += [_row(result, pgbench) for result in results]
    if pgbench is not None:
        lines.append(
            f"{'pgbench (TPC-B)':<18}{pgbench.tps:>9.1f}{pgbench.p50_ms:>9.1f}"
            f"{pgbench.p95_ms:>9.1f}{pgbench.p99_ms:>9.1f}{'':>17}{1:>11.3f}"
            f"  scale {pgbench.scale}, {pgbench.clients} clients, avg {pgbench.latency_ms:.1f} ms,"
            f" max {pgbench.max_ms:.0f} ms"
        )
    else:
        lines.append(f"{'pgbench (TPC-B)':<18}not measured (pgbench not found or disabled)")
    return "\n".join(lines)


def details(results: list[WorkloadResult]) -> str:
    """Below the table: CPU use and whatever went wrong, per workload."""
    lines = []
    for result in results:
        o = result.outcome
        if o is None:
            continue
        lines.append(
            f"  {result.workload.name}: {o.requests} requests in {o.seconds:.1f} s by {o.generator}"
            f" (generator CPU {o.generator_cpu_share * 100:.0f}% of a core; service"
            f" {result.server_cpu_cores * 100:.0f}%; all CPUs {result.machine_busy * 100:.0f}%"
            f" busy); max {o.max_ms:.0f} ms"
            + (
                f"; wrk's coordinated-omission p99 {corrected:.0f} ms"
                if (corrected := o.extra.get("wrk_corrected_p99_ms")) is not None
                else ""
            )
        )
        if o.errors:
            lines.append(
                f"    errors: http {o.http_errors}, graphql {o.graphql_errors}, unexpected"
                f" {o.unexpected}, timeouts {o.timeouts}, socket {o.socket_errors};"
                f" first: {o.error_sample[:200]}"
            )
        lines += [f"    {note}" for note in result.notes]
    return "\n".join(lines)


def save(
    results: list[WorkloadResult],
    pgbench: PgbenchResult | None,
    context: dict[str, Any],
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    payload = {
        **context,
        "pgbench": asdict(pgbench) if pgbench else None,
        "workloads": [
            {
                "name": r.workload.name,
                "issue": r.workload.issue,
                "status": r.status,
                "reason": r.reason,
                "target": r.workload.target.describe() if r.workload.target else None,
                "result": r.verdict(pgbench),
                "ratio_to_pgbench": r.ratio(pgbench),
                "requests_per_s": r.outcome.rps if r.outcome else None,
                "errors": r.outcome.errors if r.outcome else None,
                "outcome": asdict(r.outcome) if r.outcome else None,
                "invariants": r.invariants,
                "service_cpu_cores": r.server_cpu_cores,
                "machine_busy": r.machine_busy,
                "notes": r.notes,
            }
            for r in results
        ],
    }
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    return path
