"""Typed records a provider fills in: the data of one contract, house, account, device or reading.

They carry plain Python values (``date``, ``Decimal``, ``str`` GUIDs) and an NSI reference as code + GUID;
``providers.builders`` turns them into the official request elements. Each record has its own
TransportGUID (made here unless given), the key its per-object result comes back under.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


def _new_guid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class NsiRef:
    """A reference-directory item (NSI), as the official ``nsi-base:nsiRef``: code and GUID."""

    code: str
    guid: str


@dataclass(frozen=True)
class Attachment:
    """A document already uploaded to the file store: its AttachmentGUID and hash (``base:AttachmentType``)."""

    name: str
    description: str
    guid: str
    hash: str


@dataclass(frozen=True)
class ContractHouse:
    fias_house_guid: str
    start_date: date
    end_date: date | None = None
    transport_guid: str = field(default_factory=_new_guid)


@dataclass(frozen=True)
class ManagementContract:
    """``importContractRequest/Contract/PlacingContract``: a management contract and the houses it covers."""

    number: str
    signing_date: date
    effective_date: date
    plan_end_date: date
    base: NsiRef  # NSI 58: the ground of the contract
    attachment: Attachment
    houses: tuple[ContractHouse, ...]
    owners: bool = True  # concluded with the owners
    transport_guid: str = field(default_factory=_new_guid)


class PremisesKind(StrEnum):
    RESIDENTIAL = "residential"
    NON_RESIDENTIAL = "non_residential"


@dataclass(frozen=True)
class Premises:
    number: str
    kind: PremisesKind
    total_area: Decimal
    gross_area: Decimal | None = None  # residential: living area
    entrance: str | None = None  # residential: the entrance number, or ``no_entrance``
    cadastral_number: str | None = None
    no_cadastral_number: bool = False  # states explicitly that it has none
    no_entrance: bool = False  # residential: the house has no entrances (HasNoEntrance)
    is_common_property: bool = False  # non-residential only
    transport_guid: str = field(default_factory=_new_guid)


@dataclass(frozen=True)
class House:
    """``importHouseUORequest/ApartmentHouse/ApartmentHouseToCreate`` with premises to create."""

    fias_house_guid: str
    total_square: Decimal
    state: NsiRef  # NSI 24
    used_year: int
    floor_count: int
    underground_floor_count: int
    olson_tz: NsiRef  # NSI 32
    oktmo: str | None = None
    cultural_heritage: bool = False
    cadastral_number: str | None = None
    no_cadastral_number: bool = False
    premises: tuple[Premises, ...] = ()
    transport_guid: str = field(default_factory=_new_guid)


class AccountType(StrEnum):
    """The official account type flags (``isUOAccount`` …) by a short name."""

    UO = "isUOAccount"  # management company
    RSO = "isRSOAccount"  # resource supplier
    CR = "isCRAccount"  # capital repair
    RC = "isRCAccount"  # settlement centre
    OGV = "isOGVorOMSAccount"
    TKO = "isTKOAccount"  # waste


@dataclass(frozen=True)
class Person:
    surname: str
    first_name: str
    patronymic: str | None = None
    snils: str | None = None


@dataclass(frozen=True)
class Account:
    """``importAccountRequest/Account``: a personal account for premises, a room or a whole house."""

    account_type: AccountType
    payer: Person
    premises_guid: str | None = None
    fias_house_guid: str | None = None  # an account for the whole house
    living_room_guid: str | None = None
    share_percent: Decimal | None = None
    account_number: str | None = None
    total_square: Decimal | None = None
    residential_square: Decimal | None = None
    heated_area: Decimal | None = None
    living_persons: int | None = None
    account_guid: str | None = None  # to change an existing account
    transport_guid: str = field(default_factory=_new_guid)


class DeviceKind(StrEnum):
    """The official choice in ``BasicChatacteristicts`` (sic), by a short name."""

    RESIDENTIAL = "ResidentialPremiseDevice"
    NON_RESIDENTIAL = "NonResidentialPremiseDevice"
    HOUSE = "ApartmentHouseDevice"
    COLLECTIVE_APARTMENT = "CollectiveApartmentDevice"
    LIVING_ROOM = "LivingRoomDevice"


@dataclass(frozen=True)
class Device:
    """``importMeteringDeviceDataRequest/MeteringDevice/DeviceDataToCreate``.

    One-rate resources: ``resources`` = ((NSI 2 ref, base value), …); electricity: ``energy`` = (T1[, T2[, T3]]).
    """

    number: str
    kind: DeviceKind
    commissioned_on: date
    resources: tuple[tuple[NsiRef, Decimal], ...] = ()
    energy: tuple[Decimal, ...] = ()
    premises_guids: tuple[str, ...] = ()
    account_guids: tuple[str, ...] = ()
    living_room_guids: tuple[str, ...] = ()
    house_fias_guids: tuple[str, ...] = ()  # common-house devices
    model: str | None = None
    stamp: str | None = None
    installed_on: date | None = None
    first_verified_on: date | None = None
    verification_interval: NsiRef | None = None  # NSI 16
    remote: bool = False
    temperature_sensor: bool = False
    pressure_sensor: bool = False
    transport_guid: str = field(default_factory=_new_guid)


@dataclass(frozen=True)
class Reading:
    """One current (or control) reading of a device: ``importMeteringDeviceValuesRequest/MeteringDevicesValues``.

    One-rate: ``resource`` + ``value``; electricity: ``zones`` = (T1[, T2[, T3]]).
    """

    device_root_guid: str
    on: date
    resource: NsiRef | None = None
    value: Decimal | None = None
    zones: tuple[Decimal, ...] = ()
    control: bool = False
    period: tuple[int, int] | None = None  # (year, month) the reading is for; default: the month of ``on``
    transport_guid: str = field(default_factory=_new_guid)
