"""Management contracts, charters and resource supply contracts: the documents that give authority.

Only what authority needs is kept as data (number, dates, houses with their periods, state); the
documents themselves stay in the archived signed request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gateway.domain.authority import MandateKind
from gateway.domain.commands import Unsupported
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue


class DocumentState(StrEnum):
    """ContractStatusType / CharterStatusType values the registry produces."""

    APPROVED = "Approved"
    TERMINATED = "Terminated"
    ANNULLED = "Annul"


@dataclass(frozen=True, slots=True)
class ManagedHouse:
    """ContractObject: one house and the period it is managed (or supplied) under the document."""

    transport_guid: Guid
    fias_house_guid: FiasHouseGuid
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class MonthDay:
    """A day of the month a contract names (DeviceMeteringsDaySelectionType): 1–31, 31 standing for LastDay
    (the last day of whatever month), in the month metered or — ``next_month`` (IsNextMonth) — the one after."""

    day: int
    next_month: bool

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 31:
            raise InvalidValue(f"a day of the month {self.day} is not 1 to 31")

    def in_month(self, year: int, month: int) -> date:
        """The date this day falls on for the month ``year``-``month`` metered."""
        if self.next_month:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        last = (date(year + (month == 12), month % 12 + 1, 1) - date.resolution).day
        return date(year, month, min(self.day, last))


@dataclass(frozen=True, slots=True)
class ReadingWindow:
    """DateDetails/PeriodMetering: when readings of a month are transmitted (its end is their deadline)."""

    starts: MonthDay
    ends: MonthDay


@dataclass(frozen=True, slots=True)
class DocumentData:
    kind: MandateKind
    number: str
    signed_on: date
    effective_on: date
    ends_on: date | None  # PlanDateComptetion for contracts; none for a charter
    base: NsiRef | None  # ContractBase (NSI 58) for a contract
    houses: tuple[ManagedHouse, ...]
    reading_window: ReadingWindow | None = None

    def __post_init__(self) -> None:
        if self.ends_on is not None and self.ends_on < self.effective_on:
            raise InvalidValue(f"document {self.number} ends ({self.ends_on}) before it takes effect "
                               f"({self.effective_on})")
        for house in self.houses:
            if house.ends_on is not None and house.ends_on < house.starts_on:
                raise InvalidValue(f"house {house.fias_house_guid}: EndDate {house.ends_on} is before StartDate "
                                   f"{house.starts_on}")
            if house.starts_on < self.effective_on:
                raise InvalidValue(f"house {house.fias_house_guid}: StartDate {house.starts_on} is before the "
                                   f"document takes effect ({self.effective_on})")


@dataclass(frozen=True, slots=True)
class PlaceDocument:
    """PlacingContract / PlacingCharter."""

    transport_guid: Guid
    data: DocumentData | InvalidValue


@dataclass(frozen=True, slots=True)
class TerminateDocument:
    """TerminateContract / TerminateCharter: authority ends on ``on`` (inclusive)."""

    transport_guid: Guid
    kind: MandateKind
    version_guid: Guid
    on: date
    reason: str


@dataclass(frozen=True, slots=True)
class AnnulDocument:
    """AnnulmentContract / AnnulmentCharter: placed by mistake; it never gave authority."""

    transport_guid: Guid
    kind: MandateKind
    version_guid: Guid
    reason: str


DocumentCommand = PlaceDocument | TerminateDocument | AnnulDocument | Unsupported


@dataclass(frozen=True, slots=True)
class StoredDocument:
    guid: Guid
    version_guid: Guid
    kind: MandateKind
    org: Guid
    number: str
    state: DocumentState
    version_number: int
    houses: tuple[tuple[FiasHouseGuid, Guid], ...]  # (house, ContractObjectVersionGUID)
