"""Commands: what a provider asked for, decoded from its message, one object per TransportGUID.

A command item whose fields could not be turned into valid values carries the ``InvalidValue`` instead of
data, so the service can answer that TransportGUID with the precise error while the rest of the batch
goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.model import HouseData, PremisesData, PremisesKind, RoomData
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue


@dataclass(frozen=True, slots=True)
class HouseToCreate:
    transport_guid: Guid
    data: HouseData | InvalidValue


@dataclass(frozen=True, slots=True)
class PremisesToCreate:
    transport_guid: Guid
    data: PremisesData | InvalidValue


@dataclass(frozen=True, slots=True)
class HouseToUpdate:
    """ApartmentHouseToUpdate: the fields given change, the others keep their registered values."""

    transport_guid: Guid
    fias_house_guid: FiasHouseGuid
    changes: dict[str, object] | InvalidValue  # HouseData field → new value


@dataclass(frozen=True, slots=True)
class PremisesToUpdate:
    """ResidentialPremisesToUpdate / NonResidentialPremiseToUpdate of a registered premises."""

    transport_guid: Guid
    premises_guid: Guid
    kind: PremisesKind
    changes: dict[str, object] | InvalidValue  # PremisesData field → new value


@dataclass(frozen=True, slots=True)
class RoomToCreate:
    """LivingRoomToCreate: a room of a flat created in the same request (``flat_transport``) or registered."""

    transport_guid: Guid
    data: RoomData | InvalidValue
    flat_transport: Guid | None = None
    flat_guid: Guid | None = None


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A branch of an official request that this gateway version does not process yet, in any operation
    (a house, a document, a device, a reading, a protocol or a decision change): answered SRV001006."""

    transport_guid: Guid
    what: str


@dataclass(frozen=True, slots=True)
class ImportHouseUO:
    """importHouseUORequest: one apartment house with its premises (house-management 16.3.0.0)."""

    house: HouseToCreate | HouseToUpdate | Unsupported
    premises: tuple[PremisesToCreate | PremisesToUpdate | RoomToCreate | Unsupported, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ExportHouse:
    """exportHouseRequest: everything the registry holds about one house, by FIAS GUID."""

    fias_house_guid: FiasHouseGuid
