"""What the query layer returns: one frozen dataclass per object kind, plain values only (no ORM, no XML).

Identifiers are the registry's lower-case GUID strings; dates and moments are ``date`` / aware ``datetime``;
areas and readings ``Decimal``. Payers' personal data are not part of these rows: reports and reconciliation
never need them, and the SOAP exports that may show them read them through the write-side repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class OrganisationRow:
    guid: str
    name: str
    role: str
    ogrn: str
    inn: str
    kpp: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A management contract, charter or resource supply contract."""

    guid: str
    version_guid: str
    version_number: int
    kind: str
    org_guid: str
    number: str
    signed_on: date
    effective_on: date
    ends_on: date | None
    state: str
    terminated_on: date | None
    #: the day of the month readings are due by (DateDetails/PeriodMetering/EndDate), when the document says
    reading_window_end: int | None = None
    reading_window_next_month: bool | None = None


@dataclass(frozen=True, slots=True)
class MandateRow:
    """One house of one document, with the business period it is managed or supplied (inclusive)."""

    document_guid: str
    kind: str
    org_guid: str
    fias_house_guid: str
    starts_on: date
    ends_on: date | None
    annulled: bool


@dataclass(frozen=True, slots=True)
class HouseRow:
    guid: str
    fias_house_guid: str
    unique_number: str | None
    oktmo: str | None
    cadastral_status: str
    cadastral_number: str | None
    total_square: Decimal
    used_year: int
    floor_count: int
    posted_by: str
    version_guid: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PremisesRow:
    guid: str
    house_guid: str
    fias_house_guid: str
    oktmo: str | None
    kind: str  # residential | non_residential
    number: str
    cadastral_status: str  # number | no_number | not_registered | missing
    cadastral_number: str | None
    total_area: Decimal | None
    is_common_property: bool | None
    characteristic_code: str | None
    version_guid: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RoomRow:
    guid: str
    premises_guid: str
    house_guid: str
    number: str
    cadastral_status: str
    cadastral_number: str | None
    square: Decimal | None
    version_guid: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountRow:
    guid: str
    unified_number: str | None
    account_type: str
    account_number: str | None
    posted_by: str
    closed_on: date | None
    closed_reason_code: str | None
    version_guid: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AccommodationRow:
    """What one account pays for: a premises, a room or a whole house (its ServiceID)."""

    account_guid: str
    ordinal: int
    house_guid: str
    premises_guid: str | None
    living_room_guid: str | None
    fias_house_guid: str | None
    share_percent: Decimal | None
    service_id: str


@dataclass(frozen=True, slots=True)
class DeviceRow:
    root_guid: str
    version_guid: str
    version_number: int
    gis_number: str | None
    house_guid: str
    fias_house_guid: str
    posted_by: str
    kind: str
    number: str
    resources: tuple[str, ...]  # resource codes ("E" for an electricity register)
    installed_on: date | None
    commissioned_on: date | None
    first_verified_on: date | None
    verified_on: date | None
    next_verification_on: date | None
    archived_on: date | None
    replaced_by: str | None
    premises: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReadingRow:
    guid: str
    device_root_guid: str
    resource_code: str
    kind: str  # current | control
    period: str  # YYYY-MM
    reading_date: date
    values: tuple[Decimal, ...]
    flags: tuple[str, ...]
    posted_by: str
    message_guid: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class VotingRow:
    """A notice of an owners' meeting or an electronic vote."""

    guid: str
    house_guid: str
    fias_house_guid: str
    posted_by: str
    form: str
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProtocolRow:
    """A meeting protocol with the registry's own count of it."""

    guid: str
    voting_guid: str
    version_number: int
    house_guid: str
    fias_house_guid: str
    posted_by: str
    number: str | None
    protocol_date: date
    total_votes: Decimal
    cast_votes: Decimal
    competent: bool
    #: per agenda item: (number, majority needed, adopted by the registry's count, declared adopted)
    results: tuple[tuple[int, str, bool, bool | None], ...]
    flags: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CadastralCount:
    """Premises of a group (a house, an OKTMO code or a region) by cadastral state."""

    group: str | None
    premises: int
    with_number: int
    explicitly_without: int  # NoCadastralNumber or No_RSO_GKN_EGRP_Registered
    missing: int  # nothing said: what compliance reports chase

    @property
    def fill_rate(self) -> float:
        return self.with_number / self.premises if self.premises else 0.0


@dataclass(frozen=True, slots=True)
class MessageRow:
    guid: str
    org_guid: str
    service: str
    operation: str
    state: str
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    last_error: str | None
    #: IsOperatorSignature: the organisation that signed for ``org_guid`` (whose data it is) and its power
    signed_by: str | None = None
    power_guid: str | None = None


@dataclass(frozen=True, slots=True)
class PowerRow:
    """A delegated power as the registry held it; ``state`` as stored (granted, accepted, recalled, renounced) —
    ``gateway.domain.powers.Power.state_at`` says whether a live one has expired by a given moment."""

    guid: str
    grantor_guid: str
    holder_guid: str
    functions: tuple[str, ...]
    starts_on: date
    ends_on: date | None
    state: str
    version_number: int
    granted_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    changed_at: datetime
    changed_by: str
    change_reason: str | None


@dataclass(frozen=True, slots=True)
class ChangesetRow:
    """One committed change set and where it came from: whose data (``org_guid``) and, for a message signed by
    another organisation under a delegated power, who signed it (``signed_by``) under which power."""

    id: int
    kind: str  # message | reconciliation | operator | migration
    org_guid: str | None
    message_guid: str | None
    signed_by: str | None
    power_guid: str | None
    run_id: str | None
    actor: str | None
    role: str | None
    reason: str | None
    started_at: datetime
    committed_at: datetime | None
