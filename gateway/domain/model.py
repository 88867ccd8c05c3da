"""Entities and the cadastral state of real-estate objects (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from gateway.domain.values import CadastralNumber, FiasHouseGuid, Guid, Inn, Kpp, Ogrn, Oktmo

if TYPE_CHECKING:
    from gateway.domain.powers import Power


class OrgRole(StrEnum):
    """What an organisation is, which decides what it may post."""

    MANAGEMENT_COMPANY = "management_company"
    HOA = "hoa"
    HOUSING_COOPERATIVE = "housing_cooperative"
    RESOURCE_SUPPLY = "resource_supply"
    REGULATOR = "regulator"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Organisation:
    guid: Guid
    name: str
    role: OrgRole
    ogrn: Ogrn
    inn: Inn
    kpp: Kpp | None = None
    #: set while the worker processes a message another organisation signed for this one under a delegated
    #: power (IsOperatorSignature): the data are this organisation's, and every authority check also asks
    #: whether the power speaks for the data's date (``authority.refusal``)
    acting_under: Power | None = None


class CadastralStatus(StrEnum):
    """How a house or premises stands with the real-estate register.

    ``number``: a cadastral number was given. ``no_number``: the sender states explicitly that the object
    has none (``NoCadastralNumber``). ``not_registered``: not registered in the state cadastre or rights
    register (``No_RSO_GKN_EGRP_Registered``). ``missing``: nothing was said, which is what the compliance
    reports chase, since a citizen can do nothing with an object that has no cadastral number.
    """

    NUMBER = "number"
    NO_NUMBER = "no_number"
    NOT_REGISTERED = "not_registered"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Cadastral:
    status: CadastralStatus
    number: CadastralNumber | None = None

    def __post_init__(self) -> None:
        if (self.status is CadastralStatus.NUMBER) != (self.number is not None):
            raise ValueError("a cadastral number goes with status 'number' and only with it")

    @classmethod
    def of(cls, number: CadastralNumber) -> Cadastral:
        return cls(CadastralStatus.NUMBER, number)


@dataclass(frozen=True, slots=True)
class NsiRef:
    """A reference to an entry of an NSI directory: its code and GUID (nsi-base:nsiRef)."""

    code: str
    guid: Guid
    name: str | None = None


class PremisesKind(StrEnum):
    RESIDENTIAL = "residential"
    NON_RESIDENTIAL = "non_residential"


@dataclass(frozen=True, slots=True)
class HouseData:
    """What a management organisation posts about an apartment house (ApartmentHouseUOType)."""

    fias_house_guid: FiasHouseGuid
    cadastral: Cadastral
    total_square: Decimal
    state: NsiRef
    used_year: int
    floor_count: int
    underground_floor_count: int
    olson_tz: NsiRef
    cultural_heritage: bool
    oktmo: Oktmo | None = None
    min_floor_count: int | None = None


@dataclass(frozen=True, slots=True)
class PremisesData:
    """A residential or non-residential premises of an apartment house."""

    kind: PremisesKind
    number: str
    cadastral: Cadastral
    total_area: Decimal | None = None
    gross_area: Decimal | None = None
    entrance_num: str | None = None
    is_common_property: bool | None = None
    characteristic: NsiRef | None = None  # NSI 30: separate flat, communal flat, hostel, …


@dataclass(frozen=True, slots=True)
class Premises:
    guid: Guid
    unique_number: str
    house_guid: Guid
    data: PremisesData
    version_guid: Guid
    updated_at: datetime
    rooms: tuple[LivingRoom, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RoomData:
    """A room of a communal flat (RoomUOType): its number in the flat, area, cadastral state."""

    number: str
    cadastral: Cadastral
    square: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LivingRoom:
    guid: Guid
    unique_number: str
    premises_guid: Guid
    data: RoomData
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class House:
    guid: Guid
    unique_number: str
    data: HouseData
    posted_by: Guid
    version_guid: Guid
    updated_at: datetime
    premises: tuple[Premises, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What the registry keeps of a signing certificate bound to an organisation."""

    fingerprint: str  # SHA-256 of the DER encoding, lower-case hex
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    pem: str


@dataclass(frozen=True, slots=True)
class CertificateBinding:
    org_guid: Guid
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
