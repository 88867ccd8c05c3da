"""Per-object results, the domain side of base:CommonResultType."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.values import Guid
from gateway.errors import Code


@dataclass(frozen=True, slots=True)
class ObjectError:
    code: Code
    description: str


@dataclass(frozen=True, slots=True)
class ObjectResult:
    """The answer for one TransportGUID: the registry GUID and unique number, or an error."""

    transport_guid: Guid
    guid: Guid | None = None
    unique_number: str | None = None
    update_date: datetime | None = None
    error: ObjectError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, transport_guid: Guid, code: Code, description: str) -> ObjectResult:
        return cls(transport_guid=transport_guid, error=ObjectError(code, description))
