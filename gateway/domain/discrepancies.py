"""Discrepancies: what reconciliation finds between the registry and a source of truth (DESIGN §1, sync).

A finding names one object of the registry (a house, premises, account, device, mandate), its kind, the
evidence, and — where the reference register says what the right value is — a suggested fix with a score.
Its identity is stable (the job, the kind, the object and what it is about), so a later run that sees the
same thing updates it instead of adding a second one, and a run that no longer sees it resolves it.

Kinds use GIS ZhKKh's own cadastral-link vocabulary where it has one (``CadastralNumber``,
``NoCadastralNumber``, ``No_RSO_GKN_EGRP_Registered``; a link to EGRN is "created" when a premises takes the
number the register holds — GKNRelationshipStatus C).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"  # worth knowing (a licence house entry ending soon)
    WARNING = "warning"  # likely wrong, the provider should look (an area off, a number missing)
    ERROR = "error"  # wrong by the register, or against the rules (a number on two premises, no licence)


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # support has seen it and works on it
    RESOLVED = "resolved"  # support closed it (fixed, or decided it is no discrepancy): it stays closed
    AUTO_RESOLVED = "auto_resolved"  # a later run no longer saw it; reopened if it comes back


#: statuses a run may move to auto_resolved, and from which a new sighting reopens
LIVE = (Status.OPEN, Status.ACKNOWLEDGED)


class Kind(StrEnum):
    # cadastral (EGRN; and GAR's cadastral-number parameter)
    CADASTRAL_CANDIDATE = "cadastral.candidate"  # no CadastralNumber, the register has one for it
    CADASTRAL_UNKNOWN = "cadastral.unknown_to_register"  # the CadastralNumber is not in the register's extract
    CADASTRAL_DUPLICATE = "cadastral.duplicate"  # one CadastralNumber on two premises of the registry
    AREA_MISMATCH = "cadastral.area_mismatch"  # the registry's area and the register's differ beyond tolerance
    PURPOSE_MISMATCH = "cadastral.purpose_mismatch"  # residential in one, non-residential in the other
    # addresses (GAR / FIAS)
    FIAS_RETIRED = "address.fias_retired"  # the house's FIAS GUID is no longer actual in GAR
    FIAS_UNKNOWN = "address.fias_unknown"  # GAR's region does not know the house's FIAS GUID
    PREMISES_UNKNOWN = "address.premises_unknown"  # GAR knows no apartment of that number in the house
    # licences
    LICENCE_NOT_ACTIVE = "licence.not_active"  # the manager has no active licence
    LICENCE_HOUSE_NOT_LISTED = "licence.house_not_listed"  # its licence does not list the house
    LICENCE_ENDING = "licence.house_ending"  # the licence's entry for the house ends within N days
    # authority and providers among themselves
    NO_MANAGER = "authority.no_manager"  # a registered house that no management contract or charter covers
    MANAGEMENT_OVERLAP = "authority.overlap"  # two organisations manage the house over one period
    SUPPLIER_WITHOUT_MANAGER = "authority.supplier_account_unmanaged"  # supply accounts, no manager's account
    READING_AFTER_ARCHIVE = "metering.reading_after_archive"  # readings dated after the device was archived
    VERIFICATION_OVERDUE = "metering.verification_overdue"  # readings after the next verification fell due


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a job found, about one object."""

    kind: Kind
    severity: Severity
    object_type: str
    object_guid: str
    summary: str
    evidence: dict[str, Any]
    #: what it is about, beyond the object (the candidate number, the other organisation…): part of the identity
    subject: str = ""
    fias_house_guid: str | None = None
    house_guid: str | None = None
    org_guid: str | None = None
    suggested_fix: dict[str, Any] | None = None
    score: float | None = None

    def identity(self, job: str) -> str:
        key = "|".join((job, self.kind.value, self.object_type, self.object_guid, self.subject))
        return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a run did to the worklist, by kind."""

    found: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    reopened: dict[str, int] = field(default_factory=dict)
    auto_resolved: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, dict[str, int]]:
        return {"found": dict(self.found), "new": dict(self.new), "reopened": dict(self.reopened),
                "auto_resolved": dict(self.auto_resolved)}


def candidate_score(*, number_matches: bool, area_ratio: float | None, purpose_matches: bool | None) -> float:
    """How sure a cadastral candidate is, 0 to 1: the house is matched already (the register's building);
    the premises number is worth most, then the area's closeness, then the purpose."""
    score = 0.5 if number_matches else 0.0
    if area_ratio is not None:
        score += 0.35 * max(0.0, 1.0 - area_ratio / 0.1)  # 0 % off: all of it, 10 % or more: none
    if purpose_matches:
        score += 0.15
    return round(min(score, 1.0), 3)
