"""Per-request context: who is calling, their units of work, fresh dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from app.domain.audit import AuditDraft
from app.domain.identity import Identity
from app.services.bills import Numbering
from app.services.unit_of_work import UnitsOfWork


@dataclass
class Context:
    request: Request
    response: Response | None
    identity: Identity | None
    units_of_work: UnitsOfWork | None
    loaders: dict[str, Any] = field(default_factory=dict)
    audit: AuditDraft | None = None
    """The entry of the mutation being resolved (``app.graphql.audited``)."""
    refused: list[AuditDraft] = field(default_factory=list)
    """Entries of mutations a permission refused, to write before answering."""
    numbering: Numbering | None = None
    """Numbers this worker's sales after their requests (``app.services.bills``)."""
    unnumbered_sale: bool = False
    """A sale of this request still waits for its number: ``numbering`` takes it after
    the answer, unless a read of ``Order.number`` in the same request took it."""

    @property
    def caller(self) -> Identity:
        """The authenticated identity; permission classes guarantee it is present."""
        if self.identity is None:
            raise RuntimeError("field resolved without IsAuthenticated")
        return self.identity

    @property
    def uow(self) -> UnitsOfWork:
        if self.units_of_work is None:
            raise RuntimeError("field resolved without IsAuthenticated")
        return self.units_of_work

    @property
    def minor_units(self) -> int:
        return self.caller.business.minor_units


Info = StrawberryInfo[Context, None]
