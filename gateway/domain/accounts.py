"""Personal accounts (лицевые счета): who pays for which premises, and the numbers the registry gives them.

DESIGN §3: number, type (management organisation, resource supplier, capital repair, settlement centre,
state/municipal body, waste operator), payer (person or organisation; personal data kept minimal),
premises and shares, residents, areas; opened and closed with a reason; the registry assigns the
unified account number (ELS, 10 characters) and a housing-services ID per account and premises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue


class AccountType(StrEnum):
    """The official schema's choice isUOAccount | isRSOAccount | isCRAccount | isRCAccount | …"""

    MANAGEMENT = "uo"
    RESOURCE_SUPPLY = "rso"
    CAPITAL_REPAIR = "cr"
    SETTLEMENT_CENTRE = "rc"
    STATE_OR_MUNICIPAL = "ogv_oms"
    WASTE = "tko"


@dataclass(frozen=True, slots=True)
class PersonPayer:
    """An individual payer: the name, and SNILS or an identity document (nothing more is kept)."""

    surname: str
    first_name: str
    patronymic: str | None = None
    snils: str | None = None
    document_type: str | None = None  # NSI 95 code
    document_series: str | None = None
    document_number: str | None = None


@dataclass(frozen=True, slots=True)
class OrganisationPayer:
    org_version_guid: Guid


@dataclass(frozen=True, slots=True)
class Accommodation:
    """What an account pays for: a premises, a room of a communal flat, or a whole house (a detached
    house), with a share in %."""

    premises_guid: Guid | None = None
    fias_house_guid: FiasHouseGuid | None = None
    share_percent: Decimal | None = None
    living_room_guid: Guid | None = None

    def __post_init__(self) -> None:
        named = [g for g in (self.premises_guid, self.fias_house_guid, self.living_room_guid) if g is not None]
        if len(named) != 1:
            raise InvalidValue("an accommodation names exactly one of PremisesGUID, FIASHouseGuid or LivingRoomGUID")
        if self.share_percent is not None and not Decimal(0) <= self.share_percent <= Decimal(100):
            raise InvalidValue(f"SharePercent {self.share_percent} must be between 0 and 100")

    @property
    def place(self) -> str:
        """A key naming the premises, room or house, unique across the kinds."""
        if self.living_room_guid:
            return f"r:{self.living_room_guid}"
        return f"p:{self.premises_guid}" if self.premises_guid else f"h:{self.fias_house_guid}"


@dataclass(frozen=True, slots=True)
class Closing:
    reason: NsiRef  # NSI 22
    on: date
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AccountData:
    account_type: AccountType
    payer: PersonPayer | OrganisationPayer | None
    accommodations: tuple[Accommodation, ...]
    account_number: str | None = None
    living_persons: int | None = None
    total_square: Decimal | None = None
    residential_square: Decimal | None = None
    heated_area: Decimal | None = None
    is_renter: bool = False
    closed: Closing | None = None

    def __post_init__(self) -> None:
        if not self.accommodations:
            raise InvalidValue("an account needs at least one Accommodation (premises or house)")
        places = [a.place for a in self.accommodations]
        if len(set(places)) != len(places):
            raise InvalidValue("the same premises or house is named twice in one account")


@dataclass(frozen=True, slots=True)
class AccountToImport:
    """One importAccountRequest/Account: a new account, or (with ``account_guid``) a new version of one."""

    transport_guid: Guid
    data: AccountData | InvalidValue
    account_guid: Guid | None = None


@dataclass(frozen=True, slots=True)
class ImportAccounts:
    accounts: tuple[AccountToImport, ...]


@dataclass(frozen=True, slots=True)
class ExportAccounts:
    """exportAccountRequest: by house, or by up to 1,000 AccountGUIDs / ELS / ServiceIDs."""

    fias_house_guid: FiasHouseGuid | None = None
    account_guids: tuple[Guid, ...] = field(default=())
    unified_numbers: tuple[str, ...] = field(default=())
    service_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class StoredAccommodation:
    accommodation: Accommodation
    service_id: str


@dataclass(frozen=True, slots=True)
class Account:
    guid: Guid
    unified_number: str
    data: AccountData
    posted_by: Guid
    created_at: datetime
    updated_at: datetime
    accommodations: tuple[StoredAccommodation, ...]


_ELS_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q: they read as 1 and 0


def unified_account_number(region: str, serial: int) -> str:
    """ELS: 10 characters — the region's 2 digits, then the account's serial in base 33 (8 characters)."""
    if not (len(region) == 2 and region.isascii() and region.isdigit()):
        raise InvalidValue(f"region {region!r} must be 2 digits")
    digits = []
    for _ in range(8):
        serial, rest = divmod(serial, len(_ELS_ALPHABET))
        digits.append(_ELS_ALPHABET[rest])
    if serial:
        raise InvalidValue("account serial exceeds the ELS range")
    return region + "".join(reversed(digits))


def service_id(unified_number: str, ordinal: int) -> str:
    """Housing-services ID: the ELS, a dash and the premises' ordinal in the account (13 characters)."""
    if not 1 <= ordinal <= 99:
        raise InvalidValue(f"an account covers at most 99 premises, not {ordinal}")
    return f"{unified_number}-{ordinal:02d}"
