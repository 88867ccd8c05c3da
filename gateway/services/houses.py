"""importHouseUOData and exportHouseData (house-management service)."""

from __future__ import annotations

from datetime import datetime

from gateway.domain import authority
from gateway.domain.commands import ExportHouse, HouseToCreate, ImportHouseUO, PremisesToCreate, Unsupported
from gateway.domain.model import House, Organisation, PremisesKind
from gateway.domain.results import ObjectResult
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, Conflict
from gateway.registry.unit_of_work import UnitOfWork

_KIND_NAME = {PremisesKind.RESIDENTIAL: "residential", PremisesKind.NON_RESIDENTIAL: "non-residential"}


def import_house_uo(
    uow: UnitOfWork, sender: Organisation, command: ImportHouseUO, *, message: Guid, now: datetime
) -> list[ObjectResult]:
    """Register an apartment house and its premises; each TransportGUID succeeds or fails on its own.

    Premises of a house that was refused are refused with ``PARENT_REJECTED``: they cannot exist alone.
    """
    items: list[HouseToCreate | PremisesToCreate | Unsupported] = [command.house, *command.premises]
    if not authority.may_post_house_uo(sender):
        reason = f"organisation {sender.guid} ({sender.role}) may not post house data as a management organisation"
        return [ObjectResult.failed(i.transport_guid, Code.AUTHORITY_DENIED, reason) for i in items]

    house_result, house = _create_house(uow, sender, command.house, message=message, now=now)
    results = [house_result]
    taken = uow.houses.premises_taken(house[0]) if house else set()
    seen_transport = {command.house.transport_guid}
    for item in command.premises:
        if item.transport_guid in seen_transport:
            results.append(ObjectResult.failed(
                item.transport_guid, Code.VALUE_INVALID, f"TransportGUID {item.transport_guid} is repeated"))
            continue
        seen_transport.add(item.transport_guid)
        if house is None:
            results.append(ObjectResult.failed(
                item.transport_guid, Code.PARENT_REJECTED,
                f"premises not registered because house {command.house.transport_guid} was refused"))
            continue
        results.append(_create_premises(uow, sender, item, house, taken, message=message, now=now))
    return results


def _refusal(item: HouseToCreate | PremisesToCreate | Unsupported) -> ObjectResult | None:
    if isinstance(item, Unsupported):
        return ObjectResult.failed(
            item.transport_guid, Code.NOT_SUPPORTED, f"{item.what} is not supported by this gateway version")
    if isinstance(item.data, InvalidValue):
        return ObjectResult.failed(item.transport_guid, item.data.code, str(item.data))
    return None


def _create_house(
    uow: UnitOfWork, sender: Organisation, item: HouseToCreate | Unsupported, *, message: Guid, now: datetime
) -> tuple[ObjectResult, tuple[Guid, str] | None]:
    refused = _refusal(item)
    if refused is not None:
        return refused, None
    assert isinstance(item, HouseToCreate) and not isinstance(item.data, InvalidValue)
    fias = item.data.fias_house_guid
    existing = uow.houses.find_house_holder(fias)
    if existing is not None:
        _guid, holder = existing
        if authority.holds_house(sender, holder):
            text = f"house with FIAS GUID {fias} is already registered; send ApartmentHouseToUpdate"
            return ObjectResult.failed(item.transport_guid, Code.HOUSE_ALREADY_REGISTERED, text), None
        text = f"house with FIAS GUID {fias} is registered by another organisation"
        return ObjectResult.failed(item.transport_guid, Code.AUTHORITY_DENIED, text), None
    guid = Guid.new()
    try:
        with uow.savepoint():
            unique = uow.houses.add_house(guid, item.data, posted_by=sender.guid, message=message, at=now)
    except Conflict as exc:
        text = f"house with FIAS GUID {fias} was registered concurrently ({exc.message})"
        return ObjectResult.failed(item.transport_guid, Code.HOUSE_ALREADY_REGISTERED, text), None
    result = ObjectResult(item.transport_guid, guid=guid, unique_number=unique, update_date=now)
    return result, (guid, unique)


def _create_premises(
    uow: UnitOfWork, sender: Organisation, item: PremisesToCreate | Unsupported, house: tuple[Guid, str],
    taken: set[tuple[PremisesKind, str]], *, message: Guid, now: datetime,
) -> ObjectResult:
    refused = _refusal(item)
    if refused is not None:
        return refused
    assert isinstance(item, PremisesToCreate) and not isinstance(item.data, InvalidValue)
    key = (item.data.kind, item.data.number)
    duplicate = (f"{_KIND_NAME[item.data.kind]} premises number {item.data.number!r} "
                 "already exists in this house")
    if key in taken:
        return ObjectResult.failed(item.transport_guid, Code.PREMISES_DUPLICATE, duplicate)
    guid = Guid.new()
    try:
        with uow.savepoint():
            unique = uow.houses.add_premises(
                guid, house[0], house[1], item.data, org=sender.guid, message=message, at=now)
    except Conflict:
        return ObjectResult.failed(item.transport_guid, Code.PREMISES_DUPLICATE, duplicate)
    taken.add(key)
    return ObjectResult(item.transport_guid, guid=guid, unique_number=unique, update_date=now)


def export_house(uow: UnitOfWork, reader: Organisation, command: ExportHouse) -> House | None:
    """The house with its premises as the registry holds it now; None if it is not registered."""
    return uow.houses.get(command.fias_house_guid)
