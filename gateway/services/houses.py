"""importHouseUOData and exportHouseData (house-management service)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gateway.domain import authority
from gateway.domain.commands import (
    ExportHouse,
    HouseToCreate,
    HouseToUpdate,
    ImportHouseUO,
    PremisesToCreate,
    PremisesToUpdate,
    RoomToCreate,
    Unsupported,
)
from gateway.domain.model import House, NsiRef, Organisation, Premises, PremisesKind
from gateway.domain.results import ObjectResult
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, Conflict
from gateway.registry.unit_of_work import UnitOfWork
from gateway.registry.versions import AsOf
from gateway.services import preamble
from gateway.services.batch import write_batch

HOUSE_STATE_NSI = 24
PREMISES_CHARACTERISTIC_NSI = 30
OLSON_TZ_NSI = 32
_KIND_NAME = {PremisesKind.RESIDENTIAL: "residential", PremisesKind.NON_RESIDENTIAL: "non-residential"}


def import_house_uo(
    uow: UnitOfWork, sender: Organisation, command: ImportHouseUO, *, message: Guid, now: datetime
) -> list[ObjectResult]:
    """Register an apartment house and its premises; each TransportGUID succeeds or fails on its own.

    Premises of a house that was refused are refused with ``PARENT_REJECTED``: they cannot exist alone.
    """
    items: list[HouseToCreate | HouseToUpdate | PremisesToCreate | PremisesToUpdate | RoomToCreate | Unsupported] = [
        command.house, *command.premises]
    if not authority.may_post_house_uo(sender):
        reason = f"organisation {sender.guid} ({sender.role}) may not post house data as a management organisation"
        return [ObjectResult.failed(i.transport_guid, Code.AUTHORITY_DENIED, reason) for i in items]

    registered: dict[Guid, Premises] = {}  # an updated house's premises, as registered before this request
    if isinstance(command.house, HouseToUpdate):
        house_result, stored = _update_house(uow, sender, command.house, now=now)
        house = (stored.guid, stored.unique_number) if stored else None
        registered = {p.guid: p for p in stored.premises} if stored else {}
    else:  # a new house has no premises yet
        house_result, house = _create_house(uow, sender, command.house, now=now)
    results: list[ObjectResult | None] = [house_result]
    taken = {(p.data.kind, p.data.number) for p in registered.values()}
    seen_transport = {command.house.transport_guid}
    to_add: list[tuple[int, PremisesToCreate]] = []
    rooms: list[tuple[int, RoomToCreate]] = []
    for item in command.premises:
        if isinstance(item, RoomToCreate):
            seen_transport.add(item.transport_guid)
            rooms.append((len(results), item))
            results.append(None)
            continue
        if isinstance(item, PremisesToUpdate):
            seen_transport.add(item.transport_guid)
            results.append(_characteristic_refusal(uow, item) or _update_premises(
                uow, sender, item, house, registered, taken, now=now))
            continue
        refused = _premises_refusal(item, house, taken, seen_transport, parent=command.house.transport_guid) \
            or _characteristic_refusal(uow, item)
        seen_transport.add(item.transport_guid)
        if refused is None:
            assert isinstance(item, PremisesToCreate) and not isinstance(item.data, InvalidValue)
            taken.add((item.data.kind, item.data.number))
            to_add.append((len(results), item))
        results.append(refused)
    if house is not None and to_add:
        for index, result in _add_premises(uow, sender, house, to_add, now=now):
            results[index] = result
    if rooms:
        flats_by_transport = {item.transport_guid: results[index] for index, item in to_add}
        for index, room in rooms:
            results[index] = _add_room(uow, sender, room, house, flats_by_transport, now=now)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _characteristic_refusal(uow: UnitOfWork, item: PremisesToCreate | PremisesToUpdate | Unsupported
                            ) -> ObjectResult | None:
    """A premises characteristic must be an item of NSI 30."""
    if isinstance(item, PremisesToCreate) and not isinstance(item.data, InvalidValue):
        ref = item.data.characteristic
    elif isinstance(item, PremisesToUpdate) and not isinstance(item.changes, InvalidValue):
        ref = item.changes.get("characteristic")  # type: ignore[assignment]
    else:
        return None
    if isinstance(ref, NsiRef) and (why := uow.nsi.refusal(PREMISES_CHARACTERISTIC_NSI, ref,
                                                           "PremisesCharacteristic")):
        return ObjectResult.failed(item.transport_guid, Code.NSI_UNKNOWN, why)
    return None


def _add_room(uow: UnitOfWork, sender: Organisation, item: RoomToCreate, house: tuple[Guid, str] | None,
              created: dict[Guid, ObjectResult | None], *, now: datetime) -> ObjectResult:
    """A room of a flat created in this request or already registered; numbers are unique within the flat."""
    transport = item.transport_guid
    if house is None:
        return ObjectResult.failed(transport, Code.PARENT_REJECTED, "room not registered because its house was refused")
    if isinstance(item.data, InvalidValue):
        return ObjectResult.failed(transport, item.data.code, str(item.data))
    flat_guid = item.flat_guid
    if item.flat_transport is not None:
        made = created.get(item.flat_transport)
        if made is None or not made.ok:
            return ObjectResult.failed(transport, Code.PARENT_REJECTED,
                                       "room not registered because its flat was refused")
        flat_guid = made.guid
    stored = uow.houses.get_premises(flat_guid) if flat_guid is not None else None
    if stored is None or stored.house_guid != house[0] or stored.data.kind is not PremisesKind.RESIDENTIAL:
        return ObjectResult.failed(transport, Code.PREMISES_NOT_FOUND, f"no flat {flat_guid} in this house")
    if any(r.data.number == item.data.number for r in stored.rooms):
        return ObjectResult.failed(transport, Code.PREMISES_DUPLICATE,
                                   f"flat {stored.data.number!r} already has a room {item.data.number!r}")
    guid = Guid.new()
    try:
        with uow.savepoint():
            unique = uow.houses.add_room(guid, stored, item.data, at=now)
    except Conflict:
        return ObjectResult.failed(transport, Code.PREMISES_DUPLICATE,
                                   f"flat {stored.data.number!r} already has a room {item.data.number!r}")
    return ObjectResult(transport, guid=guid, unique_number=unique, update_date=now)


def _update_house(uow: UnitOfWork, sender: Organisation, item: HouseToUpdate, *, now: datetime
                  ) -> tuple[ObjectResult, House | None]:
    """A new version of a registered house; returns it as it was read (its premises untouched), if accepted."""
    if isinstance(item.changes, InvalidValue):
        return ObjectResult.failed(item.transport_guid, item.changes.code, str(item.changes)), None
    fias = item.fias_house_guid
    house = uow.houses.get(fias)
    if house is None:
        return ObjectResult.failed(item.transport_guid, Code.HOUSE_NOT_FOUND,
                                   f"no house with FIAS GUID {fias} is registered; send ApartmentHouseToCreate"), None
    if denied := authority.refusal(sender, fias, authority.today(now), uow.documents.mandates([fias]),
                                "this house's data"):
        return ObjectResult.failed(item.transport_guid, denied.code, denied.text), None
    for registry, what in ((HOUSE_STATE_NSI, "state"), (OLSON_TZ_NSI, "olson_tz")):
        ref = item.changes.get(what)
        if isinstance(ref, NsiRef) and (why := uow.nsi.refusal(registry, ref, what)):
            return ObjectResult.failed(item.transport_guid, Code.NSI_UNKNOWN, why), None
    try:
        data = replace(house.data, **item.changes)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        return ObjectResult.failed(item.transport_guid, Code.VALUE_INVALID, str(exc)), None
    uow.houses.update_house(house, data, at=now)
    result = ObjectResult(item.transport_guid, guid=house.guid, unique_number=house.unique_number, update_date=now)
    return result, house


def _update_premises(uow: UnitOfWork, sender: Organisation, item: PremisesToUpdate,
                     house: tuple[Guid, str] | None, registered: dict[Guid, Premises],
                     taken: set[tuple[PremisesKind, str]], *, now: datetime) -> ObjectResult:
    """A premises of the updated house changes; a new number is refused while accounts or meters use it."""
    transport = item.transport_guid
    if house is None:
        return ObjectResult.failed(transport, Code.PARENT_REJECTED, "premises not changed because its house was "
                                                                    "refused")
    if isinstance(item.changes, InvalidValue):
        return ObjectResult.failed(transport, item.changes.code, str(item.changes))
    current = registered.get(item.premises_guid)
    if current is None or current.data.kind is not item.kind:
        return ObjectResult.failed(transport, Code.PREMISES_NOT_FOUND,
                                   f"no {_KIND_NAME[item.kind]} premises {item.premises_guid} in this house")
    number = item.changes.get("number")
    if number is not None and number != current.data.number:
        if (item.kind, number) in taken:
            return ObjectResult.failed(transport, Code.PREMISES_DUPLICATE, f"{_KIND_NAME[item.kind]} premises "
                                                                           f"number {number!r} already exists")
        if uow.houses.open_links([current.guid]):
            return ObjectResult.failed(transport, Code.PREMISES_RENUMBER_BLOCKED, (
                f"premises {current.data.number!r} has open personal accounts or metering devices in service; "
                "close or move them before renumbering"))
    try:
        data = replace(current.data, **item.changes)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        return ObjectResult.failed(transport, Code.VALUE_INVALID, str(exc))
    with uow.savepoint():
        uow.houses.update_premises(current, data, at=now)
    taken.discard((item.kind, current.data.number))
    taken.add((item.kind, data.number))
    return ObjectResult(transport, guid=current.guid, unique_number=current.unique_number, update_date=now)


def _premises_refusal(
    item: PremisesToCreate | Unsupported, house: tuple[Guid, str] | None, taken: set[tuple[PremisesKind, str]],
    seen: set[Guid], *, parent: Guid,
) -> ObjectResult | None:
    if item.transport_guid in seen:
        return ObjectResult.failed(item.transport_guid, Code.VALUE_INVALID,
                                   f"TransportGUID {item.transport_guid} is repeated")
    if house is None:
        return ObjectResult.failed(item.transport_guid, Code.PARENT_REJECTED,
                                   f"premises not registered because house {parent} was refused")
    refused = _refusal(item)
    if refused is not None:
        return refused
    assert isinstance(item, PremisesToCreate) and not isinstance(item.data, InvalidValue)
    if (item.data.kind, item.data.number) in taken:
        return ObjectResult.failed(item.transport_guid, Code.PREMISES_DUPLICATE, _duplicate(item))
    return None


def _duplicate(item: PremisesToCreate) -> str:
    assert not isinstance(item.data, InvalidValue)
    return f"{_KIND_NAME[item.data.kind]} premises number {item.data.number!r} already exists in this house"


def _add_premises(
    uow: UnitOfWork, sender: Organisation, house: tuple[Guid, str], items: list[tuple[int, PremisesToCreate]], *,
    now: datetime,
) -> list[tuple[int, ObjectResult]]:
    """All valid premises in one set-based write; if that collides, object by object so each stands alone."""
    def write(batch: list[tuple[int, PremisesToCreate]]) -> list[tuple[int, ObjectResult]]:
        guids = [Guid.new() for _ in batch]
        data = [(guid, item.data) for guid, (_, item) in zip(guids, batch, strict=True)
                if not isinstance(item.data, InvalidValue)]
        with uow.savepoint():
            uniques = uow.houses.add_premises(house[0], house[1], data, at=now)
        return [(index, ObjectResult(item.transport_guid, guid=guid, unique_number=unique, update_date=now))
                for (index, item), guid, unique in zip(batch, guids, uniques, strict=True)]

    def refuse(entry: tuple[int, PremisesToCreate], _: Conflict) -> tuple[int, ObjectResult]:
        return entry[0], ObjectResult.failed(entry[1].transport_guid, Code.PREMISES_DUPLICATE, _duplicate(entry[1]))

    return write_batch(items, write, refuse)


def _refusal(item: HouseToCreate | PremisesToCreate | Unsupported) -> ObjectResult | None:
    if refused := preamble.not_supported(item):
        return ObjectResult.failed(item.transport_guid, refused.code, refused.description)
    assert not isinstance(item, Unsupported)
    if isinstance(item.data, InvalidValue):
        return ObjectResult.failed(item.transport_guid, item.data.code, str(item.data))
    return None


def _create_house(
    uow: UnitOfWork, sender: Organisation, item: HouseToCreate | Unsupported, *, now: datetime
) -> tuple[ObjectResult, tuple[Guid, str] | None]:
    refused = _refusal(item)
    if refused is not None:
        return refused, None
    assert isinstance(item, HouseToCreate) and not isinstance(item.data, InvalidValue)
    fias = item.data.fias_house_guid
    if denied := authority.refusal(sender, fias, authority.today(now), uow.documents.mandates([fias]),
                                "this house's data"):
        return ObjectResult.failed(item.transport_guid, denied.code, denied.text), None
    if uow.houses.find_house_holder(fias) is not None:
        text = f"house with FIAS GUID {fias} is already registered; send ApartmentHouseToUpdate"
        return ObjectResult.failed(item.transport_guid, Code.HOUSE_ALREADY_REGISTERED, text), None
    for registry, ref, what in ((HOUSE_STATE_NSI, item.data.state, "State"),
                                (OLSON_TZ_NSI, item.data.olson_tz, "OlsonTZ")):
        if why := uow.nsi.refusal(registry, ref, what):
            return ObjectResult.failed(item.transport_guid, Code.NSI_UNKNOWN, why), None
    guid = Guid.new()
    try:
        with uow.savepoint():
            unique = uow.houses.add_house(guid, item.data, posted_by=sender.guid, at=now)
    except Conflict as exc:
        text = f"house with FIAS GUID {fias} was registered concurrently ({exc.message})"
        return ObjectResult.failed(item.transport_guid, Code.HOUSE_ALREADY_REGISTERED, text), None
    result = ObjectResult(item.transport_guid, guid=guid, unique_number=unique, update_date=now)
    return result, (guid, unique)


def export_house(uow: UnitOfWork, reader: Organisation, command: ExportHouse,
                 as_of: datetime | AsOf | None = None) -> House | None:
    """The house with its premises as the registry holds it now, or held it at ``as_of``; None if it was not
    registered (then)."""
    return uow.houses.get(command.fias_house_guid, as_of=as_of)
