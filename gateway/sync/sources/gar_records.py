"""GAR (FIAS) records, one frozen dataclass per table the reconciliation reads, and their row parsers.

Attribute names and types are those of the official GAR XSDs, version 2_251 (vendored in ``gar-xsd/``):
every datum is an attribute of one flat row element, no namespace. ``PREVID``/``NEXTID`` link *history
rows* (row ``ID``s), not objects; a row is the object's current state when ``ISACTUAL=1`` and ``ISACTIVE=1``.
A parameter row is in force on a day between its ``STARTDATE`` (inclusive) and ``ENDDATE`` (exclusive);
current rows carry the FIAS sentinel ``ENDDATE="2079-06-06"``.

Each parser takes a row's attributes and raises ``BadValue`` for anything its XSD type does not allow, so
the reader can report the row as a ``RecordIssue`` and go on. A row is read whole or not at all: GAR is
machine-written, and a row with one garbled attribute is not trusted for the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from gateway.sync.sources import values as v

#: The FIAS "no end" sentinel date of current rows.
FIAS_OPEN_END = date(2079, 6, 6)

#: PARAM TYPEID values the reconciliation uses (GAR ``AS_PARAM_TYPES``).
PARAM_CADASTRAL_NUMBER = 8
PARAM_OKTMO = 7
PARAM_OKTMO_8 = 21
PARAM_OKATO = 6
PARAM_POSTAL_INDEX = 5

Attributes = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class GarHouse:
    """A row of ``AS_HOUSES``: one state of a building (its number, type and whether it still exists)."""

    id: int
    object_id: int
    object_guid: str
    change_id: int
    house_num: str | None
    add_num1: str | None
    add_num2: str | None
    house_type: int | None
    add_type1: int | None
    add_type2: int | None
    oper_type_id: int
    prev_id: int | None
    next_id: int | None
    update_date: date
    start_date: date
    end_date: date
    is_actual: bool
    is_active: bool
    file: str
    line: int | None

    @property
    def is_current(self) -> bool:
        """The object's current, existing state."""
        return self.is_actual and self.is_active


@dataclass(frozen=True, slots=True)
class GarApartment:
    """A row of ``AS_APARTMENTS``: a premises (flat or non-residential room) inside a building."""

    id: int
    object_id: int
    object_guid: str
    change_id: int
    number: str
    apart_type: int
    oper_type_id: int
    prev_id: int | None
    next_id: int | None
    update_date: date
    start_date: date
    end_date: date
    is_actual: bool
    is_active: bool
    file: str
    line: int | None

    @property
    def is_current(self) -> bool:
        return self.is_actual and self.is_active


ParamOwner = Literal["house", "apartment"]


@dataclass(frozen=True, slots=True)
class GarParam:
    """A row of ``AS_HOUSES_PARAMS`` / ``AS_APARTMENTS_PARAMS``: one typed value of an object, over a period.

    ``object_id`` is the numeric ``OBJECTID`` of the house or apartment, not its GUID. ``value`` is checked
    for the types the reconciliation uses: TYPEID 8 a cadastral number, 7 an OKTMO (8 or 11 digits).
    """

    owner: ParamOwner
    id: int
    object_id: int
    change_id: int | None
    change_id_end: int
    type_id: int
    value: str
    update_date: date
    start_date: date
    end_date: date
    file: str
    line: int | None

    def in_force_on(self, day: date) -> bool:
        return self.start_date <= day < self.end_date

    @property
    def is_open_ended(self) -> bool:
        """A current row: its end is FIAS's sentinel (or later)."""
        return self.end_date >= FIAS_OPEN_END


Hierarchy = Literal["adm", "mun"]


@dataclass(frozen=True, slots=True)
class GarHierarchyItem:
    """A row of ``AS_ADM_HIERARCHY`` or ``AS_MUN_HIERARCHY``: an object's parent in that hierarchy.

    An apartment's parent is its house, a house's its street (or settlement). ``path`` is GAR's
    "materialised path": the OBJECTIDs from the top of the hierarchy down to this object. ``oktmo`` is
    given by the municipal hierarchy only, ``region_code`` by the administrative one.
    """

    hierarchy: Hierarchy
    id: int
    object_id: int
    parent_object_id: int | None
    change_id: int
    oktmo: str | None
    region_code: str | None
    prev_id: int | None
    next_id: int | None
    update_date: date
    start_date: date
    end_date: date
    is_active: bool
    path: tuple[int, ...]
    file: str
    line: int | None


@dataclass(frozen=True, slots=True)
class GarAddressObject:
    """A row of ``AS_ADDR_OBJ``: a street, settlement, district… (the parents of houses)."""

    id: int
    object_id: int
    object_guid: str
    change_id: int
    name: str
    type_name: str
    level: int
    oper_type_id: int
    prev_id: int | None
    next_id: int | None
    update_date: date
    start_date: date
    end_date: date
    is_actual: bool
    is_active: bool
    file: str
    line: int | None


@dataclass(frozen=True, slots=True)
class GarRegistryObject:
    """A row of ``AS_REESTR_OBJECTS``: one row per object, the cheapest "is this GUID still active"."""

    object_id: int
    object_guid: str
    create_date: date
    change_id: int
    level_id: int
    update_date: date
    is_active: bool
    file: str
    line: int | None


def _text(a: Attributes, name: str, limit: int) -> str | None:
    return v.bounded_text(a.get(name), name, limit)


def parse_house(a: Attributes, file: str, line: int | None) -> GarHouse:
    return GarHouse(
        id=v.integer(a.get("ID"), "ID"), object_id=v.integer(a.get("OBJECTID"), "OBJECTID"),
        object_guid=v.fias_house_guid(a.get("OBJECTGUID"), "OBJECTGUID"),
        change_id=v.integer(a.get("CHANGEID"), "CHANGEID"),
        house_num=_text(a, "HOUSENUM", 50), add_num1=_text(a, "ADDNUM1", 50), add_num2=_text(a, "ADDNUM2", 50),
        house_type=v.optional_integer(a.get("HOUSETYPE"), "HOUSETYPE"),
        add_type1=v.optional_integer(a.get("ADDTYPE1"), "ADDTYPE1"),
        add_type2=v.optional_integer(a.get("ADDTYPE2"), "ADDTYPE2"),
        oper_type_id=v.integer(a.get("OPERTYPEID"), "OPERTYPEID"),
        prev_id=v.optional_integer(a.get("PREVID"), "PREVID"), next_id=v.optional_integer(a.get("NEXTID"), "NEXTID"),
        update_date=v.iso_date(a.get("UPDATEDATE"), "UPDATEDATE"),
        start_date=v.iso_date(a.get("STARTDATE"), "STARTDATE"), end_date=v.iso_date(a.get("ENDDATE"), "ENDDATE"),
        is_actual=v.flag(a.get("ISACTUAL"), "ISACTUAL"), is_active=v.flag(a.get("ISACTIVE"), "ISACTIVE"),
        file=file, line=line)


def parse_apartment(a: Attributes, file: str, line: int | None) -> GarApartment:
    number = _text(a, "NUMBER", 50)
    if number is None:
        raise v.BadValue("NUMBER is missing")
    return GarApartment(
        id=v.integer(a.get("ID"), "ID"), object_id=v.integer(a.get("OBJECTID"), "OBJECTID"),
        object_guid=v.guid(a.get("OBJECTGUID"), "OBJECTGUID"), change_id=v.integer(a.get("CHANGEID"), "CHANGEID"),
        number=number, apart_type=v.integer(a.get("APARTTYPE"), "APARTTYPE"),
        oper_type_id=v.integer(a.get("OPERTYPEID"), "OPERTYPEID"),
        prev_id=v.optional_integer(a.get("PREVID"), "PREVID"), next_id=v.optional_integer(a.get("NEXTID"), "NEXTID"),
        update_date=v.iso_date(a.get("UPDATEDATE"), "UPDATEDATE"),
        start_date=v.iso_date(a.get("STARTDATE"), "STARTDATE"), end_date=v.iso_date(a.get("ENDDATE"), "ENDDATE"),
        is_actual=v.flag(a.get("ISACTUAL"), "ISACTUAL"), is_active=v.flag(a.get("ISACTIVE"), "ISACTIVE"),
        file=file, line=line)


def _param_value(type_id: int, raw: str | None) -> str:
    if type_id == PARAM_CADASTRAL_NUMBER:
        return v.cadastral_number(raw, "VALUE (cadastral number)")
    if type_id in (PARAM_OKTMO, PARAM_OKTMO_8):
        return v.oktmo(raw, "VALUE (OKTMO)")
    text = v.bounded_text(raw, "VALUE", 8000)
    if text is None:
        raise v.BadValue("VALUE is missing")
    return text


def parse_param(owner: ParamOwner, a: Attributes, file: str, line: int | None) -> GarParam:
    type_id = v.integer(a.get("TYPEID"), "TYPEID")
    return GarParam(
        owner=owner, id=v.integer(a.get("ID"), "ID"), object_id=v.integer(a.get("OBJECTID"), "OBJECTID"),
        change_id=v.optional_integer(a.get("CHANGEID"), "CHANGEID"),
        change_id_end=v.integer(a.get("CHANGEIDEND"), "CHANGEIDEND"), type_id=type_id,
        value=_param_value(type_id, a.get("VALUE")),
        update_date=v.iso_date(a.get("UPDATEDATE"), "UPDATEDATE"),
        start_date=v.iso_date(a.get("STARTDATE"), "STARTDATE"), end_date=v.iso_date(a.get("ENDDATE"), "ENDDATE"),
        file=file, line=line)


def _path(raw: str | None) -> tuple[int, ...]:
    if raw is None or not raw.strip():
        raise v.BadValue("PATH is missing")
    return tuple(v.integer(part, "PATH element") for part in raw.strip().split("."))


def parse_hierarchy(hierarchy: Hierarchy, a: Attributes, file: str, line: int | None) -> GarHierarchyItem:
    oktmo = a.get("OKTMO") or None
    if oktmo is not None and not (oktmo.isascii() and oktmo.isdigit() and 8 <= len(oktmo) <= 11):
        raise v.BadValue(f"OKTMO {oktmo!r} is not 8-11 digits")
    region = a.get("REGIONCODE")
    if region is not None and not (region.isascii() and region.isdigit() and 1 <= len(region) <= 4):
        raise v.BadValue(f"REGIONCODE {region!r} is not 1-4 digits")
    return GarHierarchyItem(
        hierarchy=hierarchy, id=v.integer(a.get("ID"), "ID"), object_id=v.integer(a.get("OBJECTID"), "OBJECTID"),
        parent_object_id=v.optional_integer(a.get("PARENTOBJID"), "PARENTOBJID"),
        change_id=v.integer(a.get("CHANGEID"), "CHANGEID"),
        oktmo=oktmo, region_code=region,
        prev_id=v.optional_integer(a.get("PREVID"), "PREVID"), next_id=v.optional_integer(a.get("NEXTID"), "NEXTID"),
        update_date=v.iso_date(a.get("UPDATEDATE"), "UPDATEDATE"),
        start_date=v.iso_date(a.get("STARTDATE"), "STARTDATE"), end_date=v.iso_date(a.get("ENDDATE"), "ENDDATE"),
        is_active=v.flag(a.get("ISACTIVE"), "ISACTIVE"), path=_path(a.get("PATH")), file=file, line=line)


def parse_address_object(a: Attributes, file: str, line: int | None) -> GarAddressObject:
    name = _text(a, "NAME", 250)
    type_name = _text(a, "TYPENAME", 50)
    if name is None or type_name is None:
        raise v.BadValue("NAME and TYPENAME are required")
    return GarAddressObject(
        id=v.integer(a.get("ID"), "ID"), object_id=v.integer(a.get("OBJECTID"), "OBJECTID"),
        object_guid=v.guid(a.get("OBJECTGUID"), "OBJECTGUID"), change_id=v.integer(a.get("CHANGEID"), "CHANGEID"),
        name=name, type_name=type_name, level=v.integer(a.get("LEVEL"), "LEVEL"),
        oper_type_id=v.integer(a.get("OPERTYPEID"), "OPERTYPEID"),
        prev_id=v.optional_integer(a.get("PREVID"), "PREVID"), next_id=v.optional_integer(a.get("NEXTID"), "NEXTID"),
        update_date=v.iso_date(a.get("UPDATEDATE"), "UPDATEDATE"),
        start_date=v.iso_date(a.get("STARTDATE"), "STARTDATE"), end_date=v.iso_date(a.get("ENDDATE"), "ENDDATE"),
        is_actual=v.flag(a.get("ISACTUAL"), "ISACTUAL"), is_active=v.flag(a.get("ISACTIVE"), "ISACTIVE"),
        file=file, line=line)


def parse_registry_object(a: Attributes, file: str, line: int | None) -> GarRegistryObject:
    return GarRegistryObject(
        object_id=v.integer(a.get("OBJECTID"), "OBJECTID"), object_guid=v.guid(a.get("OBJECTGUID"), "OBJECTGUID"),
        create_date=v.iso_date(a.get("CREATEDATE"), "CREATEDATE"), change_id=v.integer(a.get("CHANGEID"), "CHANGEID"),
        level_id=v.integer(a.get("LEVELID"), "LEVELID"), update_date=v.iso_date(a.get("UPDATEDATE"), "UPDATEDATE"),
        is_active=v.flag(a.get("ISACTIVE"), "ISACTIVE"), file=file, line=line)
