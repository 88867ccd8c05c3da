"""Penalty decrees: an inspectorate's decisions in cases of administrative offences (the official ``rap``
service, ``importDecreesAndDocumentsData``), which the compliance reports read to tell a repeated violation.

A decree is about an organisation (and possibly one of its officials) — the gateway does not take decrees on
natural persons, whose personal data it has no reason to hold. Its subjects of violation (NSI 229) say which
obligations it concerns; its date of bringing to liability (``ProceedingDate``), execution and fine payment
say how long the organisation is deemed penalised (КоАП ст. 4.6, ``gateway/reports/obligations.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from gateway.domain.model import NsiRef
from gateway.domain.values import Guid

#: NSI 229: subject of the violation (Предмет нарушения)
VIOLATION_OBJECT_NSI = 229


class DecreeStatus(StrEnum):
    """rap:DecreeStatusType."""

    PUBLISHED = "Published"
    CANCELLED = "Cancelled"
    ANNULLED = "Annulled"


@dataclass(frozen=True, slots=True)
class Official:
    surname: str
    first_name: str
    patronymic: str | None
    position: str


@dataclass(frozen=True, slots=True)
class ProceduralDocument:
    kind: NsiRef  # NSI 226
    name: str
    number: str
    on: date
    executed: bool | None
    attachments: tuple[dict[str, str], ...]  # name, description, guid, hash — as sent


@dataclass(frozen=True, slots=True)
class DecreeData:
    """rap:DecreeInfoType, for an organisation offender."""

    offender: Guid  # orgRootEntityGUID
    official: Official | None
    control_roles: tuple[NsiRef, ...]  # NSI 270
    result_kind: NsiRef  # NSI 227
    document: ProceduralDocument
    punishment_kinds: tuple[NsiRef, ...]  # NSI 225
    authority: NsiRef  # NSI 332
    authority_name: str | None
    accepted_by_position: str
    violation_objects: tuple[NsiRef, ...]  # NSI 229
    proceeding_date: date
    fine: Decimal | None
    fine_paid_on: date | None
    disqualification: str | None  # "3 months", "1 years": as sent
    suspension: str | None
    description: str | None
    taken_action: str | None
    executed: bool | None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decree was changed or cancelled (NSI 271), with its base document and description."""

    reason: NsiRef
    document: ProceduralDocument | None
    description: str | None


@dataclass(frozen=True, slots=True)
class DecreeToImport:
    """One ``importDecreesAndDocuments``: place or change a decree (``data``), cancel it or annul it."""

    transport_guid: Guid
    decree_guid: Guid | None
    data: DecreeData | None = None
    change: Reason | None = None
    cancel: Reason | None = None
    annul: bool = False
    procedural_documents: int = 0  # ImportProceduralDocuments sent (not accepted by this gateway)


@dataclass(frozen=True, slots=True)
class ExportDecrees:
    """``ExportDecreesAndDocumentsRequest``: by GUIDs, or by the date of bringing to liability."""

    guids: tuple[Guid, ...] = ()
    proceeding_from: date | None = None
    proceeding_to: date | None = None


@dataclass(frozen=True, slots=True)
class Decree:
    """A decree as the registry holds it."""

    guid: Guid
    registry_number: str
    regulator: Guid
    status: DecreeStatus
    data: DecreeData
    change: Reason | None
    cancel: Reason | None

    @property
    def violation_codes(self) -> frozenset[str]:
        return frozenset(ref.code for ref in self.data.violation_objects)
