"""importHouseUORequest → ImportHouseUO command; House → exportHouseResult (house-management 16.3.0.0).

Every element carrying a ``base:TransportGUID`` is one object and gets one CommonResult. Branches of
the official schema this version does not process yet (updates, living houses, entrances, lifts, rooms)
are decoded as ``Unsupported`` so the sender gets a precise per-object answer for each of them.
"""

from __future__ import annotations

from lxml import etree

from gateway import ns
from gateway.domain.commands import (
    HouseToCreate,
    HouseToUpdate,
    ImportHouseUO,
    PremisesToCreate,
    PremisesToUpdate,
    RoomToCreate,
    Unsupported,
)
from gateway.domain.model import (
    Cadastral,
    CadastralStatus,
    House,
    HouseData,
    Premises,
    PremisesData,
    PremisesKind,
    RoomData,
)
from gateway.domain.values import CadastralNumber, FiasHouseGuid, Guid, InvalidValue, Oktmo, area
from gateway.errors import Code
from gateway.ns import q
from gateway.soap.xmlmap import (
    boolean,
    decoded,
    hm,
    iso,
    nsi,
    nsi_out,
    optional_area,
    required,
    sub,
    text,
    transport_guid,
)


def _cadastral(element: etree._Element) -> Cadastral:
    """GKN_EGRP_KeyType: CadastralNumber | No_RSO_GKN_EGRP_Registered | (NoCadastralNumber?, …)."""
    number = text(element, "CadastralNumber")
    if number is not None:
        return Cadastral.of(CadastralNumber(number))
    if text(element, "No_RSO_GKN_EGRP_Registered") in {"true", "1"}:
        return Cadastral(CadastralStatus.NOT_REGISTERED)
    if text(element, "NoCadastralNumber") in {"true", "1"}:
        return Cadastral(CadastralStatus.NO_NUMBER)
    return Cadastral(CadastralStatus.MISSING)


def _house_data(create: etree._Element) -> HouseData:
    basic = create.find(hm("BasicCharacteristicts"))
    if basic is None:
        raise InvalidValue("BasicCharacteristicts is missing")
    oktmo = basic.find(hm("OKTMO"))
    min_floors = text(create, "MinFloorCount")
    return HouseData(
        fias_house_guid=FiasHouseGuid(required(basic, "FIASHouseGuid")),
        cadastral=_cadastral(basic),
        total_square=area(required(basic, "TotalSquare"), "TotalSquare"),
        state=nsi(basic, "State"),
        used_year=int(required(basic, "UsedYear")),
        floor_count=int(required(basic, "FloorCount")),
        underground_floor_count=int(required(create, "UndergroundFloorCount")),
        min_floor_count=int(min_floors) if min_floors is not None else None,
        oktmo=Oktmo(required(oktmo, "code", ns.BASE)) if oktmo is not None else None,
        olson_tz=nsi(basic, "OlsonTZ"),
        cultural_heritage=boolean(required(basic, "CulturalHeritage")) is True,
    )


def _cadastral_change(element: etree._Element) -> Cadastral | None:
    """An update's cadastral state; None when the update says nothing about it (the empty choice)."""
    stated = _cadastral(element)
    return None if stated.status is CadastralStatus.MISSING else stated


def _house_changes(update: etree._Element) -> dict[str, object]:
    basic = update.find(hm("BasicCharacteristicts"))
    if basic is None:
        raise InvalidValue("BasicCharacteristicts is missing")
    changes: dict[str, object] = {}
    if (cadastral := _cadastral_change(basic)) is not None:
        changes["cadastral"] = cadastral
    for local, field_name, convert in (("TotalSquare", "total_square", lambda v: area(v, "TotalSquare")),
                                       ("UsedYear", "used_year", int), ("FloorCount", "floor_count", int)):
        if (value := text(basic, local)) is not None:
            changes[field_name] = convert(value)
    for local, field_name in (("State", "state"), ("OlsonTZ", "olson_tz")):
        if basic.find(hm(local)) is not None:
            changes[field_name] = nsi(basic, local)
    if (heritage := text(basic, "CulturalHeritage")) is not None:
        changes["cultural_heritage"] = boolean(heritage) is True
    oktmo = basic.find(hm("OKTMO"))
    if oktmo is not None:
        changes["oktmo"] = Oktmo(required(oktmo, "code", ns.BASE))
    for local, field_name in (("UndergroundFloorCount", "underground_floor_count"),
                              ("MinFloorCount", "min_floor_count")):
        if (value := text(update, local)) is not None:
            changes[field_name] = int(value)
    return changes


def _premises_changes(update: etree._Element) -> dict[str, object]:
    changes: dict[str, object] = {}
    if (cadastral := _cadastral_change(update)) is not None:
        changes["cadastral"] = cadastral
    if (number := text(update, "PremisesNum")) is not None:
        changes["number"] = number
    if (entrance := text(update, "EntranceNum")) is not None:
        changes["entrance_num"] = entrance
    for local, field_name in (("TotalArea", "total_area"), ("GrossArea", "gross_area")):
        if (value := text(update, local)) is not None:
            changes[field_name] = area(value, local)
    if (common := text(update, "IsCommonProperty")) is not None:
        changes["is_common_property"] = boolean(common)
    if update.find(hm("PremisesCharacteristic")) is not None:
        changes["characteristic"] = nsi(update, "PremisesCharacteristic")
    if update.find(hm("AnnulmentReason")) is not None:
        raise InvalidValue("annulling premises (AnnulmentReason) is not supported by this gateway version",
                           code=Code.NOT_SUPPORTED)
    return changes


def _room(create: etree._Element) -> RoomData:
    square = text(create, "Square")
    return RoomData(number=required(create, "RoomNumber"), cadastral=_cadastral(create),
                    square=area(square, "Square") if square is not None else None)


def _rooms(flat: etree._Element, *, transport: Guid | None = None, guid: Guid | None = None
           ) -> list[RoomToCreate | Unsupported]:
    items: list[RoomToCreate | Unsupported] = []
    for create in flat.findall(hm("LivingRoomToCreate")):
        items.append(RoomToCreate(transport_guid(create), decoded(_room, create), flat_transport=transport,
                                  flat_guid=guid))
    for update in flat.findall(hm("LivingRoomToUpdate")):
        items.extend(_unsupported(update, "changing a living room"))
    return items


def _residential(create: etree._Element) -> PremisesData:
    return PremisesData(
        kind=PremisesKind.RESIDENTIAL,
        number=required(create, "PremisesNum"),
        cadastral=_cadastral(create),
        total_area=optional_area(create, "TotalArea"),
        gross_area=optional_area(create, "GrossArea"),
        entrance_num=text(create, "EntranceNum"),
        characteristic=nsi(create, "PremisesCharacteristic") if create.find(hm("PremisesCharacteristic")) is not None
        else None,
    )


def _non_residential(create: etree._Element) -> PremisesData:
    return PremisesData(
        kind=PremisesKind.NON_RESIDENTIAL,
        number=required(create, "PremisesNum"),
        cadastral=_cadastral(create),
        total_area=optional_area(create, "TotalArea"),
        is_common_property=boolean(text(create, "IsCommonProperty")),
    )


def _unsupported(element: etree._Element, what: str) -> list[Unsupported]:
    """Every object (TransportGUID) under ``element`` as unsupported, in document order."""
    found = element.iter(q(ns.BASE, "TransportGUID"))
    return [Unsupported(Guid(tg.text or ""), f"{what}: {etree.QName(tg.getparent()).localname}") for tg in found]


def decode_import_house_uo(request: etree._Element) -> ImportHouseUO:
    """The command carried by a schema-valid ``hm:importHouseUORequest``."""
    apartment = request.find(hm("ApartmentHouse"))
    if apartment is None:
        objects = _unsupported(request, "LivingHouse (a detached or blocked house)")
        return ImportHouseUO(house=objects[0], premises=tuple(objects[1:]))
    house: HouseToCreate | HouseToUpdate | Unsupported
    premises: list[PremisesToCreate | PremisesToUpdate | RoomToCreate | Unsupported] = []
    for child in apartment:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "ApartmentHouseToCreate":
            house = HouseToCreate(transport_guid(child), decoded(_house_data, child))
        elif name == "ApartmentHouseToUpdate":
            basic = child.find(hm("BasicCharacteristicts"))
            fias = FiasHouseGuid(required(basic, "FIASHouseGuid")) if basic is not None else None
            if fias is None:
                house = Unsupported(transport_guid(child), "ApartmentHouseToUpdate without BasicCharacteristicts")
            else:
                house = HouseToUpdate(transport_guid(child), fias, decoded(_house_changes, child))
        elif name == "NonResidentialPremiseToCreate":
            premises.append(PremisesToCreate(transport_guid(child), decoded(_non_residential, child)))
        elif name == "NonResidentialPremiseToUpdate":
            premises.append(PremisesToUpdate(transport_guid(child), Guid(required(child, "PremisesGUID")),
                                             PremisesKind.NON_RESIDENTIAL, decoded(_premises_changes, child)))
        elif name == "ResidentialPremises":
            create = child.find(hm("ResidentialPremisesToCreate"))
            if create is not None:
                flat = transport_guid(create)
                premises.append(PremisesToCreate(flat, decoded(_residential, create)))
                premises.extend(_rooms(child, transport=flat))
            else:
                update = child.find(hm("ResidentialPremisesToUpdate"))
                if update is None:
                    premises.extend(_unsupported(child, "living rooms"))
                    continue
                flat_guid = Guid(required(update, "PremisesGUID"))
                premises.append(PremisesToUpdate(transport_guid(update), flat_guid, PremisesKind.RESIDENTIAL,
                                                 decoded(_premises_changes, update)))
                premises.extend(_rooms(child, guid=flat_guid))
        else:
            premises.extend(_unsupported(child, name))
    return ImportHouseUO(house=house, premises=tuple(premises))


def _cadastral_out(parent: etree._Element, cadastral: Cadastral) -> None:
    """OGFExportStatusType offers CadastralNumber or No_RSO_GKN_EGRP_Registered; other states are silent."""
    if cadastral.number is not None:
        sub(parent, "CadastralNumber", cadastral.number)
    elif cadastral.status is CadastralStatus.NOT_REGISTERED:
        sub(parent, "No_RSO_GKN_EGRP_Registered", True)


def _premises_out(parent: etree._Element, item: Premises) -> None:
    data = item.data
    if data.kind is PremisesKind.RESIDENTIAL:
        element = etree.SubElement(parent, hm("ResidentialPremises"))
        _cadastral_out(element, data.cadastral)
        sub(element, "PremisesNum", data.number)
        sub(element, "EntranceNum", data.entrance_num)
        if data.characteristic is not None:
            nsi_out(element, "PremisesCharacteristic", data.characteristic)
        sub(element, "TotalArea", data.total_area)
        sub(element, "GrossArea", data.gross_area)
    else:
        element = etree.SubElement(parent, hm("NonResidentialPremises"))
        _cadastral_out(element, data.cadastral)
        sub(element, "PremisesNum", data.number)
        sub(element, "TotalArea", data.total_area)
        sub(element, "IsCommonProperty", data.is_common_property)
    sub(element, "PremisesUniqueNumber", item.unique_number)
    sub(element, "ModificationDate", iso(item.updated_at))
    for room in item.rooms:
        living = etree.SubElement(element, hm("LivingRoom"))
        _cadastral_out(living, room.data.cadastral)
        sub(living, "RoomNumber", room.data.number)
        sub(living, "Square", room.data.square)
        sub(living, "LivingRoomUniqueNumber", room.unique_number)
        sub(living, "ModificationDate", iso(room.updated_at))
        sub(living, "LivingRoomGUID", room.guid)
    sub(element, "PremisesGUID", item.guid)


def encode_export_house(parent: etree._Element, house: House) -> etree._Element:
    """``hm:exportHouseResult`` (exportHouseResultType) for one apartment house, appended to ``parent``."""
    result = etree.SubElement(parent, hm("exportHouseResult"))
    sub(result, "HouseUniqueNumber", house.unique_number)
    sub(result, "ModificationDate", iso(house.updated_at))
    sub(result, "HouseGUID", house.guid)
    apartment = etree.SubElement(result, hm("ApartmentHouse"))
    basic = etree.SubElement(apartment, hm("BasicCharacteristicts"))
    data = house.data
    _cadastral_out(basic, data.cadastral)
    sub(basic, "FIASHouseGuid", data.fias_house_guid)
    sub(basic, "TotalSquare", data.total_square)
    nsi_out(basic, "State", data.state)
    sub(basic, "UsedYear", data.used_year)
    sub(basic, "FloorCount", data.floor_count)
    if data.oktmo is not None:
        sub(etree.SubElement(basic, hm("OKTMO")), "code", data.oktmo, ns.BASE)
    nsi_out(basic, "OlsonTZ", data.olson_tz)
    sub(basic, "CulturalHeritage", data.cultural_heritage)
    sub(apartment, "UndergroundFloorCount", data.underground_floor_count)
    for kind in (PremisesKind.RESIDENTIAL, PremisesKind.NON_RESIDENTIAL):  # the schema's order
        for item in house.premises:
            if item.data.kind is kind:
                _premises_out(apartment, item)
    return result
