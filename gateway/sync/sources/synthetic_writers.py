"""Writers of a synthetic world (``synthetic.World``) in the real formats: a GAR region folder, EGRN extracts.

Both stream: one pass over the world, every output file open at once under ``lxml.etree.xmlfile`` (the
incremental writer), each row built, written and dropped. Memory does not depend on the world's size
(the GAR writer remembers only which street rows it has written: one per hundred houses).

GAR: ``AS_HOUSES``, ``AS_HOUSES_PARAMS`` (TYPEID 8 cadastral number, 7 OKTMO of 11 digits), ``AS_APARTMENTS``,
``AS_APARTMENTS_PARAMS`` (TYPEID 8), ``AS_ADDR_OBJ`` (the streets), ``AS_ADM_HIERARCHY`` and
``AS_MUN_HIERARCHY`` (region → street → house → premises, with PATH, and OKTMO in the municipal one) and
``AS_REESTR_OBJECTS``, named ``AS_<TABLE>_<YYYYMMDD>_<uuid>.XML`` like the real ones. EGRN: ``files`` bulk
files, each a wrapper ``<extracts>`` of ``extract_base_params_build`` / ``extract_base_params_room``
extracts (the form ``EgrnExtracts`` reads; see ``egrn``), the houses split over the files in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from gateway.sync.sources.synthetic import HouseFact, PremisesFact, World

OPEN_END = "2079-06-06"
START = "2012-01-01"
RETIRED_ON = "2024-03-01"
_TABLES = {"HOUSES": ("HOUSES", "HOUSE"), "HOUSES_PARAMS": ("PARAMS", "PARAM"),
           "APARTMENTS": ("APARTMENTS", "APARTMENT"), "APARTMENTS_PARAMS": ("PARAMS", "PARAM"),
           "ADDR_OBJ": ("ADDRESSOBJECTS", "OBJECT"), "ADM_HIERARCHY": ("ITEMS", "ITEM"),
           "MUN_HIERARCHY": ("ITEMS", "ITEM"), "REESTR_OBJECTS": ("REESTR_OBJECTS", "OBJECT")}


class _Table:
    """One GAR file being written: its root open, a row at a time."""

    def __init__(self, xf: Any, row: str) -> None:
        self.xf = xf
        self.row = row
        self.next_id = 1

    def write(self, **attributes: object) -> None:
        self.xf.write(etree.Element(self.row, {k: str(v) for k, v in attributes.items() if v is not None}))
        self.xf.write("\n")


@contextmanager
def _gar_tables(folder: Path, world: World, issued: date) -> Iterator[dict[str, _Table]]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = issued.strftime("%Y%m%d")
    with ExitStack() as stack:
        tables = {}
        for table, (root, row) in _TABLES.items():
            name = uuid.uuid5(uuid.NAMESPACE_URL, f"https://dom-gateway.invalid/synthetic/{world.seed}/{table}")
            xf = stack.enter_context(etree.xmlfile(str(folder / f"AS_{table}_{stamp}_{name}.XML"), encoding="utf-8"))
            xf.write_declaration()
            stack.enter_context(xf.element(root))
            xf.write("\n")
            tables[table] = _Table(xf, row)
        yield tables


def _dates(start: str = START, end: str = OPEN_END) -> dict[str, str]:
    return {"UPDATEDATE": start, "STARTDATE": start, "ENDDATE": end}


def write_gar_region(folder: str | Path, world: World, *, region: str | None = None,
                     issued: date = date(2026, 10, 2)) -> Path:
    """Write the world's houses (of ``region``, or all) as one GAR region folder; returns the folder."""
    folder = Path(folder)
    streets: set[int] = set()
    with _gar_tables(folder, world, issued) as t:
        for house in world.houses():
            if region is not None and house.region != region:
                continue
            region_object = 1000 + [r[0] for r in world.regions].index(house.region)
            if house.street_object_id not in streets:
                streets.add(house.street_object_id)
                _street(t, house, region_object)
            _house(t, house, region_object)
            for premises in world.premises_of(house):
                if premises.in_gar:
                    _premises(t, house, premises, region_object)
    return folder


def _street(t: dict[str, _Table], house: HouseFact, region_object: int) -> None:
    sid = house.street_object_id
    t["ADDR_OBJ"].write(ID=sid, OBJECTID=sid, OBJECTGUID=uuid.uuid5(uuid.NAMESPACE_OID, str(sid)), CHANGEID=sid,
                        NAME=house.street, TYPENAME="ул", LEVEL=8, OPERTYPEID=10, PREVID=0, NEXTID=0, **_dates(),
                        ISACTUAL=1, ISACTIVE=1)
    path = f"{region_object}.{sid}"
    t["ADM_HIERARCHY"].write(ID=sid, OBJECTID=sid, PARENTOBJID=region_object, CHANGEID=sid, REGIONCODE=house.region,
                             PREVID=0, NEXTID=0, **_dates(), ISACTIVE=1, PATH=path)
    t["MUN_HIERARCHY"].write(ID=sid, OBJECTID=sid, PARENTOBJID=region_object, CHANGEID=sid, OKTMO=house.oktmo11,
                             PREVID=0, NEXTID=0, **_dates(), ISACTIVE=1, PATH=path)


def _house(t: dict[str, _Table], house: HouseFact, region_object: int) -> None:
    oid = house.gar_object_id
    common = {"HOUSENUM": house.house_num, "HOUSETYPE": 2}
    if house.retired:
        new = house.successor_object_id
        t["HOUSES"].write(ID=oid, OBJECTID=oid, OBJECTGUID=house.fias_guid, CHANGEID=oid, **common, OPERTYPEID=30,
                          PREVID=0, NEXTID=new, **_dates(START, RETIRED_ON), ISACTUAL=0, ISACTIVE=0)
        t["HOUSES"].write(ID=new, OBJECTID=new, OBJECTGUID=house.successor_guid, CHANGEID=new, **common,
                          OPERTYPEID=10, PREVID=oid, NEXTID=0, **_dates(RETIRED_ON), ISACTUAL=1, ISACTIVE=1)
        t["REESTR_OBJECTS"].write(OBJECTID=oid, CREATEDATE=START, CHANGEID=oid, LEVELID=10, UPDATEDATE=RETIRED_ON,
                                  OBJECTGUID=house.fias_guid, ISACTIVE=0)
    else:
        t["HOUSES"].write(ID=oid, OBJECTID=oid, OBJECTGUID=house.fias_guid, CHANGEID=oid, **common, OPERTYPEID=10,
                          PREVID=0, NEXTID=0, **_dates(), ISACTUAL=1, ISACTIVE=1)
    current = house.current_object_id
    guid = house.successor_guid or house.fias_guid
    start = RETIRED_ON if house.retired else START
    t["REESTR_OBJECTS"].write(OBJECTID=current, CREATEDATE=start, CHANGEID=current, LEVELID=10, UPDATEDATE=start,
                              OBJECTGUID=guid, ISACTIVE=1)
    for type_id, value in ((8, house.cadastral_number), (7, house.oktmo11)):
        table = t["HOUSES_PARAMS"]
        table.write(ID=table.next_id, OBJECTID=current, CHANGEID=current, CHANGEIDEND=0, TYPEID=type_id, VALUE=value,
                    **_dates(start))
        table.next_id += 1
    path = f"{region_object}.{house.street_object_id}.{current}"
    t["ADM_HIERARCHY"].write(ID=current, OBJECTID=current, PARENTOBJID=house.street_object_id, CHANGEID=current,
                             REGIONCODE=house.region, PREVID=0, NEXTID=0, **_dates(start), ISACTIVE=1, PATH=path)
    t["MUN_HIERARCHY"].write(ID=current, OBJECTID=current, PARENTOBJID=house.street_object_id, CHANGEID=current,
                             OKTMO=house.oktmo11, PREVID=0, NEXTID=0, **_dates(start), ISACTIVE=1, PATH=path)


def _premises(t: dict[str, _Table], house: HouseFact, premises: PremisesFact, region_object: int) -> None:
    oid = premises.gar_object_id
    parent = house.current_object_id
    start = RETIRED_ON if house.retired else START
    t["APARTMENTS"].write(ID=oid, OBJECTID=oid, OBJECTGUID=premises.gar_guid, CHANGEID=oid, NUMBER=premises.number,
                          APARTTYPE=2 if premises.residential else 1, OPERTYPEID=10, PREVID=0, NEXTID=0,
                          **_dates(start), ISACTUAL=1, ISACTIVE=1)
    t["APARTMENTS_PARAMS"].write(ID=oid, OBJECTID=oid, CHANGEID=oid, CHANGEIDEND=0, TYPEID=8,
                                 VALUE=premises.cadastral_number, **_dates(start))
    path = f"{region_object}.{house.street_object_id}.{parent}.{oid}"
    t["ADM_HIERARCHY"].write(ID=oid, OBJECTID=oid, PARENTOBJID=parent, CHANGEID=oid, REGIONCODE=house.region,
                             PREVID=0, NEXTID=0, **_dates(start), ISACTIVE=1, PATH=path)
    t["MUN_HIERARCHY"].write(ID=oid, OBJECTID=oid, PARENTOBJID=parent, CHANGEID=oid, OKTMO=house.oktmo11, PREVID=0,
                             NEXTID=0, **_dates(start), ISACTIVE=1, PATH=path)
    t["REESTR_OBJECTS"].write(OBJECTID=oid, CREATEDATE=start, CHANGEID=oid, LEVELID=11, UPDATEDATE=start,
                              OBJECTGUID=premises.gar_guid, ISACTIVE=1)


# -- EGRN ------------------------------------------------------------------------------------------------

RESIDENTIAL = ("206002000000", "Жилое")
NON_RESIDENTIAL = ("206001000000", "Нежилое")
STATUS = 'Сведения об объекте недвижимости имеют статус "актуальные"'


def _sub(parent: Any, tag: str, text: str | None = None) -> Any:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _extract(kind: str, formed: str, number: str, quarter: str, type_code: str, type_value: str) -> tuple[Any, Any]:
    root = etree.Element(f"extract_base_params_{kind}")
    top = _sub(_sub(root, "details_statement"), "group_top_requisites")
    _sub(top, "date_formation", formed)
    record = _sub(root, f"{kind}_record")
    common = _sub(_sub(record, "object"), "common_data")
    _sub(common, "cad_number", number)
    _sub(common, "quarter_cad_number", quarter)
    kind_type = _sub(common, "type")
    _sub(kind_type, "code", type_code)
    _sub(kind_type, "value", type_value)
    return root, record


def _build_extract(house: HouseFact, formed: str) -> Any:
    quarter = house.cadastral_number.rsplit(":", 1)[0]
    root, record = _extract("build", formed, house.cadastral_number, quarter, "002001002000", "Здание")
    params = _sub(record, "params")
    _sub(_sub(params, "purpose"), "value", "Многоквартирный дом")
    _sub(_sub(_sub(record, "address_location"), "address"), "readable_address", house.address)
    _sub(root, "status", STATUS)
    return root


def _room_extract(house: HouseFact, premises: PremisesFact, formed: str) -> Any:
    quarter = house.cadastral_number.rsplit(":", 1)[0]
    root, record = _extract("room", formed, premises.cadastral_number, quarter, "002001003000", "Помещение")
    _sub(_sub(_sub(record, "cad_links"), "parent_cad_number"), "cad_number", house.cadastral_number)
    params = _sub(record, "params")
    _sub(params, "area", str(premises.egrn_area))
    code, value = RESIDENTIAL if premises.egrn_residential else NON_RESIDENTIAL
    purpose = _sub(params, "purpose")
    _sub(purpose, "code", code)
    _sub(purpose, "value", value)
    _sub(_sub(_sub(_sub(record, "address_room"), "address"), "address"), "readable_address", premises.address)
    _sub(root, "status", STATUS)
    return root


def write_egrn_folder(folder: str | Path, world: World, *, files: int = 10, region: str | None = None,
                      date_formation: date = date(2026, 9, 28)) -> list[Path]:
    """Write the world's EGRN records (buildings and premises in EGRN) as ``files`` bulk files; their paths."""
    if files < 1:
        raise ValueError("at least one file")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    formed = date_formation.isoformat()
    paths = [folder / f"extracts-{n:03d}.xml" for n in range(files)]
    with ExitStack() as stack:
        writers = []
        for path in paths:
            xf = stack.enter_context(etree.xmlfile(str(path), encoding="utf-8"))
            xf.write_declaration()
            stack.enter_context(xf.element("extracts"))
            writers.append(xf)
        for house in world.houses():
            if region is not None and house.region != region:
                continue
            xf = writers[house.index * files // world.house_count]
            xf.write(_build_extract(house, formed))
            for premises in world.premises_of(house):
                if premises.in_egrn:
                    xf.write(_room_extract(house, premises, formed))
                    xf.write("\n")
    return paths
