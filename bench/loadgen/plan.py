"""What a load generator is told to do, and what it reports back.

A request body is a workload's template serialised once, split at its
``<<name>>`` placeholders: literal text and pool names alternate, so a generator
only concatenates strings per request.  Answers are classified the same way by
every generator: HTTP status, then GraphQL errors, then the first ``__typename``.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

PLACEHOLDER = re.compile(r"<<([a-z_]+)>>")
KEY = "key"
"""The placeholder that draws a fresh idempotency key rather than a pool member."""
TYPENAME = re.compile(rb'"__typename"\s*:\s*"(\w+)"')
ERRORS = re.compile(rb'"errors"\s*:')

Verdict = Literal["ok", "refused", "http_errors", "graphql_errors", "unexpected"]


def body_parts(query: str, variables: dict[str, Any]) -> list[str]:
    """Literal text at even positions, placeholder names at odd positions."""
    body = orjson.dumps({"query": query.strip(), "variables": variables}).decode()
    return PLACEHOLDER.split(body)


def classify(status: int, body: bytes, ok: frozenset[bytes], refusals: frozenset[bytes]) -> Verdict:
    """HTTP status, then GraphQL errors, then the first ``__typename`` (when ``ok`` lists any)."""
    if status != 200:
        return "http_errors"
    if ERRORS.search(body):
        return "graphql_errors"
    if not ok:
        return "ok"
    match = TYPENAME.search(body)
    typename = match.group(1) if match else b""
    if typename in ok:
        return "ok"
    return "refused" if typename in refusals else "unexpected"


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    token: str
    parts: list[str]
    pools: dict[str, list[str]]
    ok: list[str]
    refusals: list[str]
    clients: int
    seconds: float
    key_prefix: str
    timeout_s: float = 5.0
    path: str = "/graphql"

    def typenames(self) -> tuple[frozenset[bytes], frozenset[bytes]]:
        return frozenset(t.encode() for t in self.ok), frozenset(t.encode() for t in self.refusals)

    def one_body(self, key: str) -> bytes:
        """A single request body, for probing before the load starts."""
        values = [
            key if name == KEY else random.choice(self.pools[name]) for name in self.parts[1::2]
        ]
        chunks = [self.parts[0]]
        for value, literal in zip(values, self.parts[2::2], strict=True):
            chunks += [value, literal]
        return "".join(chunks).encode()

    def missing_pools(self) -> list[str]:
        names = set(self.parts[1::2]) - {KEY}
        return sorted(name for name in names if not self.pools.get(name))

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Plan:
        return cls(**orjson.loads(raw))


@dataclass
class Outcome:
    """Counts and latencies of one run, whichever generator produced them."""

    generator: str
    seconds: float
    requests: int = 0
    ok: int = 0
    refused: int = 0
    http_errors: int = 0
    graphql_errors: int = 0
    unexpected: int = 0
    """Answers of a type that is neither success nor a typed refusal."""
    timeouts: int = 0
    socket_errors: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    error_sample: str = ""
    generator_cpu_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def observed(self, latencies_s: list[float]) -> None:
        """Set the percentiles and the maximum from every answer's latency, in seconds."""
        self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms = latency_summary(latencies_s)

    @property
    def errors(self) -> int:
        return (
            self.http_errors + self.graphql_errors + self.unexpected
            + self.timeouts + self.socket_errors
        )  # fmt: skip

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def generator_cpu_share(self) -> float:
        """CPU the generator used, in cores (1.0 = one core busy the whole run)."""
        return self.generator_cpu_s / self.seconds if self.seconds else 0.0


def latency_summary(latencies_s: list[float]) -> tuple[float, float, float, float]:
    """p50, p95, p99 (nearest rank) and the maximum of latencies in seconds, in ms."""
    ordered = sorted(latencies_s)
    if not ordered:
        return 0.0, 0.0, 0.0, 0.0

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000

    return percentile(50), percentile(95), percentile(99), ordered[-1] * 1000
