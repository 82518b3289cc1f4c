"""Expected outcomes of a use case other than success.

Services return these instead of raising, so the GraphQL layer can answer each
with a typed union member a client can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


@dataclass(frozen=True)
class Invalid:
    problems: list[FieldProblem]
    message: str = "Invalid input."

    @classmethod
    def one(cls, field: str, message: str) -> Invalid:
        return cls([FieldProblem(field, message)], f"{field}: {message}")


@dataclass(frozen=True)
class Missing:
    what: str
    id: str
    archived: bool = False
    """It exists but is archived, so it cannot take part (a purchase)."""

    @property
    def message(self) -> str:
        if self.archived:
            return f"{self.what} {self.id} is archived."
        return f"{self.what} {self.id} not found."


@dataclass(frozen=True)
class KeyReused:
    key: str
    message: str = "This idempotency key was already used for a different request."


@dataclass
class Problems:
    """Collects field problems so a client learns of all of them at once."""

    items: list[FieldProblem] = field(default_factory=list)

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldProblem(field, message))

    def result(self) -> Invalid | None:
        if not self.items:
            return None
        first = self.items[0]
        return Invalid(self.items, f"{first.field}: {first.message}")
