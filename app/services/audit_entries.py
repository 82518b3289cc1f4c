"""Writing audit entries (``app.domain.audit``): the SQL and its parameters.

Three ways, all in the transaction of what they describe:

- ``RECORD``: by ``UnitOfWork.commit`` just before it commits, so the entry and the
  effect commit together;
- ``answer_audited(statement)``: a one-call mutation (``UnitsOfWork.call``) whose
  statement also writes the entry, from the function's answer, in the same round
  trip (``audit_answer()``): no round trip is added while the call's locks are held;
- ``RECORD_ALONE``: a refusal, which wrote nothing, in a transaction of its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text

from app.domain.audit import AuditDraft

_WHO = (
    "CAST(:audit_business AS bigint), CAST(:audit_user AS bigint), CAST(:audit_key AS bigint),"
    " CAST(:audit_role AS text), CAST(:audit_request AS text),"
    " CAST(CAST(:audit_ip AS text) AS inet), CAST(:audit_operation AS text)"
)
_TARGET_TYPE = "CAST(:audit_target_type AS text)"
_RECORD_SQL = (
    f"SELECT record_audit({_WHO}, {_TARGET_TYPE}, CAST(:audit_target_id AS bigint),"
    " CAST(:audit_outcome AS text), CAST(CAST(:audit_input AS text) AS jsonb),"
    " CAST(CAST(:audit_before AS text) AS jsonb), CAST(CAST(:audit_after AS text) AS jsonb))"
)
RECORD = text(_RECORD_SQL)
"""For a unit of work (SQLAlchemy's ``:name`` parameters)."""
RECORD_ALONE = _RECORD_SQL
"""For ``DriverStatement``."""


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _who(draft: AuditDraft) -> dict[str, Any]:
    return {
        "audit_business": draft.business_id,
        "audit_user": draft.actor_user_id,
        "audit_key": draft.actor_key_id,
        "audit_role": draft.role,
        "audit_request": draft.request_id,
        "audit_ip": draft.client_ip,
        "audit_operation": draft.operation,
        "audit_target_type": draft.target_type,
        "audit_input": _json(draft.input),
    }


def record_params(draft: AuditDraft, outcome: str) -> dict[str, Any]:
    return {
        **_who(draft),
        "audit_target_id": draft.target_id,
        "audit_outcome": outcome,
        "audit_before": _json(draft.before),
        "audit_after": _json(draft.after),
    }


@dataclass(frozen=True)
class AnswerAudit:  # not slotted: caches its constant parameters
    """How to read a one-call mutation's audit entry from its function's answer."""

    target_type: str
    target_path: tuple[str, ...]
    """Where the answer holds the target's id (absent in a refusal)."""
    outcomes: dict[str, str]
    """The API's result type name for each ``result`` the function answers."""

    def outcome_of(self, answer: dict[str, Any]) -> str:
        """The outcome ``audit_answer()`` wrote for ``answer``."""
        result: str = answer["result"]
        return self.outcomes.get(result, result)

    def params(self, draft: AuditDraft) -> dict[str, Any]:
        return {**_who(draft), **self._constant_params}

    @functools.cached_property
    def _constant_params(self) -> dict[str, Any]:
        return {
            "audit_target_type": self.target_type,
            "audit_target_path": list(self.target_path),
            "audit_outcomes": _json(self.outcomes),
        }


def answer_audited(sql: str) -> str:
    """``sql`` (one ``SELECT function(…)``) that also writes its audit entry."""
    return (
        f"WITH call(answer) AS MATERIALIZED ({sql})"
        f" SELECT audit_answer(answer, {_WHO}, {_TARGET_TYPE}, CAST(:audit_target_path AS text[]),"
        " CAST(CAST(:audit_outcomes AS text) AS jsonb),"
        " CAST(CAST(:audit_input AS text) AS jsonb)) FROM call"
    )
