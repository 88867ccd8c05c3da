"""importHouseUORequest → ImportHouseUO command; House → exportHouseResult (house-management 16.3.0.0).

Every element carrying a ``base:TransportGUID`` is one object and gets one CommonResult. Branches of
the official schema this version does not process yet (updates, living houses, entrances, lifts, rooms)
are decoded as ``Unsupported`` so the sender gets a precise per-object answer for each of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from lxml import etree

from gateway.domain.commands import HouseToCreate, ImportHouseUO, PremisesToCreate, Unsupported
from gateway.domain.model import (
    Cadastral,
    CadastralStatus,
    House,
    HouseData,
    NsiRef,
    Premises,
    PremisesData,
    PremisesKind,
)
from gateway.domain.values import CadastralNumber, FiasHouseGuid, Guid, InvalidValue, Oktmo, area
from gateway.soap import ns
from gateway.soap.ns import q

T = TypeVar("T")


def _hm(local: str) -> str:
    return q(ns.HM, local)


def _text(element: etree._Element, local: str, namespace: str = ns.HM) -> str | None:
    found = element.find(q(namespace, local))
    return found.text.strip() if found is not None and found.text is not None else None


def _required(element: etree._Element, local: str, namespace: str = ns.HM) -> str:
    value = _text(element, local, namespace)
    if value is None:
        raise InvalidValue(f"{local} is missing")
    return value


def _transport_guid(element: etree._Element) -> Guid:
    return Guid(_required(element, "TransportGUID", ns.BASE))


def _nsi(element: etree._Element, local: str) -> NsiRef:
    ref = element.find(_hm(local))
    if ref is None:
        raise InvalidValue(f"{local} is missing")
    return NsiRef(code=_required(ref, "Code", ns.NSI_BASE), guid=Guid(_required(ref, "GUID", ns.NSI_BASE)),
                  name=_text(ref, "Name", ns.NSI_BASE))


def _cadastral(element: etree._Element) -> Cadastral:
    """GKN_EGRP_KeyType: CadastralNumber | No_RSO_GKN_EGRP_Registered | (NoCadastralNumber?, …)."""
    number = _text(element, "CadastralNumber")
    if number is not None:
        return Cadastral.of(CadastralNumber(number))
    if _text(element, "No_RSO_GKN_EGRP_Registered") in {"true", "1"}:
        return Cadastral(CadastralStatus.NOT_REGISTERED)
    if _text(element, "NoCadastralNumber") in {"true", "1"}:
        return Cadastral(CadastralStatus.NO_NUMBER)
    return Cadastral(CadastralStatus.MISSING)


def _optional_area(element: etree._Element, local: str) -> Decimal | None:
    value = _text(element, local)
    return area(value, local) if value is not None else None


def _bool(value: str | None) -> bool | None:
    return None if value is None else value in {"true", "1"}


def _house_data(create: etree._Element) -> HouseData:
    basic = create.find(_hm("BasicCharacteristicts"))
    if basic is None:
        raise InvalidValue("BasicCharacteristicts is missing")
    oktmo = basic.find(_hm("OKTMO"))
    min_floors = _text(create, "MinFloorCount")
    return HouseData(
        fias_house_guid=FiasHouseGuid(_required(basic, "FIASHouseGuid")),
        cadastral=_cadastral(basic),
        total_square=area(_required(basic, "TotalSquare"), "TotalSquare"),
        state=_nsi(basic, "State"),
        used_year=int(_required(basic, "UsedYear")),
        floor_count=int(_required(basic, "FloorCount")),
        underground_floor_count=int(_required(create, "UndergroundFloorCount")),
        min_floor_count=int(min_floors) if min_floors is not None else None,
        oktmo=Oktmo(_required(oktmo, "code", ns.BASE)) if oktmo is not None else None,
        olson_tz=_nsi(basic, "OlsonTZ"),
        cultural_heritage=_bool(_required(basic, "CulturalHeritage")) is True,
    )


def _residential(create: etree._Element) -> PremisesData:
    return PremisesData(
        kind=PremisesKind.RESIDENTIAL,
        number=_required(create, "PremisesNum"),
        cadastral=_cadastral(create),
        total_area=_optional_area(create, "TotalArea"),
        gross_area=_optional_area(create, "GrossArea"),
        entrance_num=_text(create, "EntranceNum"),
    )


def _non_residential(create: etree._Element) -> PremisesData:
    return PremisesData(
        kind=PremisesKind.NON_RESIDENTIAL,
        number=_required(create, "PremisesNum"),
        cadastral=_cadastral(create),
        total_area=_optional_area(create, "TotalArea"),
        is_common_property=_bool(_text(create, "IsCommonProperty")),
    )


def _decoded(decode: Callable[[etree._Element], T], element: etree._Element) -> T | InvalidValue:
    try:
        return decode(element)
    except InvalidValue as exc:
        return exc
    except ValueError as exc:  # int() of a value the schema already bounded; kept as a coded error
        return InvalidValue(str(exc))


def _unsupported(element: etree._Element, what: str) -> list[Unsupported]:
    """Every object (TransportGUID) under ``element`` as unsupported, in document order."""
    found = element.iter(q(ns.BASE, "TransportGUID"))
    return [Unsupported(Guid(tg.text or ""), f"{what}: {etree.QName(tg.getparent()).localname}") for tg in found]


def decode_import_house_uo(request: etree._Element) -> ImportHouseUO:
    """The command carried by a schema-valid ``hm:importHouseUORequest``."""
    apartment = request.find(_hm("ApartmentHouse"))
    if apartment is None:
        objects = _unsupported(request, "LivingHouse (a detached or blocked house)")
        return ImportHouseUO(house=objects[0], premises=tuple(objects[1:]))
    house: HouseToCreate | Unsupported
    premises: list[PremisesToCreate | Unsupported] = []
    for child in apartment:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "ApartmentHouseToCreate":
            house = HouseToCreate(_transport_guid(child), _decoded(_house_data, child))
        elif name == "ApartmentHouseToUpdate":
            house = Unsupported(_transport_guid(child), "ApartmentHouseToUpdate (changing a registered house)")
        elif name == "NonResidentialPremiseToCreate":
            premises.append(PremisesToCreate(_transport_guid(child), _decoded(_non_residential, child)))
        elif name == "ResidentialPremises":
            create = child.find(_hm("ResidentialPremisesToCreate"))
            if create is not None:
                premises.append(PremisesToCreate(_transport_guid(create), _decoded(_residential, create)))
                rooms = [c for c in child if c is not create]
                premises.extend(u for room in rooms for u in _unsupported(room, "living rooms"))
            else:
                premises.extend(_unsupported(child, "ResidentialPremisesToUpdate and living rooms"))
        else:
            premises.extend(_unsupported(child, name))
    return ImportHouseUO(house=house, premises=tuple(premises))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _lexical(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 54.3000 (stored Numeric(25,4)) is written 54.3
    return str(value)


def _sub(parent: etree._Element, local: str, value: object | None, namespace: str = ns.HM) -> None:
    if value is not None:
        etree.SubElement(parent, q(namespace, local)).text = _lexical(value)


def _nsi_out(parent: etree._Element, local: str, ref: NsiRef) -> None:
    element = etree.SubElement(parent, _hm(local))
    _sub(element, "Code", ref.code, ns.NSI_BASE)
    _sub(element, "GUID", ref.guid, ns.NSI_BASE)
    _sub(element, "Name", ref.name, ns.NSI_BASE)


def _cadastral_out(parent: etree._Element, cadastral: Cadastral) -> None:
    """OGFExportStatusType offers CadastralNumber or No_RSO_GKN_EGRP_Registered; other states are silent."""
    if cadastral.number is not None:
        _sub(parent, "CadastralNumber", cadastral.number)
    elif cadastral.status is CadastralStatus.NOT_REGISTERED:
        _sub(parent, "No_RSO_GKN_EGRP_Registered", True)


def _premises_out(parent: etree._Element, item: Premises) -> None:
    data = item.data
    if data.kind is PremisesKind.RESIDENTIAL:
        element = etree.SubElement(parent, _hm("ResidentialPremises"))
        _cadastral_out(element, data.cadastral)
        _sub(element, "PremisesNum", data.number)
        _sub(element, "EntranceNum", data.entrance_num)
        _sub(element, "TotalArea", data.total_area)
        _sub(element, "GrossArea", data.gross_area)
    else:
        element = etree.SubElement(parent, _hm("NonResidentialPremises"))
        _cadastral_out(element, data.cadastral)
        _sub(element, "PremisesNum", data.number)
        _sub(element, "TotalArea", data.total_area)
        _sub(element, "IsCommonProperty", data.is_common_property)
    _sub(element, "PremisesUniqueNumber", item.unique_number)
    _sub(element, "ModificationDate", _iso(item.updated_at))
    _sub(element, "PremisesGUID", item.guid)


def encode_export_house(parent: etree._Element, house: House) -> etree._Element:
    """``hm:exportHouseResult`` (exportHouseResultType) for one apartment house, appended to ``parent``."""
    result = etree.SubElement(parent, _hm("exportHouseResult"))
    _sub(result, "HouseUniqueNumber", house.unique_number)
    _sub(result, "ModificationDate", _iso(house.updated_at))
    _sub(result, "HouseGUID", house.guid)
    apartment = etree.SubElement(result, _hm("ApartmentHouse"))
    basic = etree.SubElement(apartment, _hm("BasicCharacteristicts"))
    data = house.data
    _cadastral_out(basic, data.cadastral)
    _sub(basic, "FIASHouseGuid", data.fias_house_guid)
    _sub(basic, "TotalSquare", data.total_square)
    _nsi_out(basic, "State", data.state)
    _sub(basic, "UsedYear", data.used_year)
    _sub(basic, "FloorCount", data.floor_count)
    if data.oktmo is not None:
        _sub(etree.SubElement(basic, _hm("OKTMO")), "code", data.oktmo, ns.BASE)
    _nsi_out(basic, "OlsonTZ", data.olson_tz)
    _sub(basic, "CulturalHeritage", data.cultural_heritage)
    _sub(apartment, "UndergroundFloorCount", data.underground_floor_count)
    for kind in (PremisesKind.RESIDENTIAL, PremisesKind.NON_RESIDENTIAL):  # the schema's order
        for item in house.premises:
            if item.data.kind is kind:
                _premises_out(apartment, item)
    return result
