"""Property tests of the record parsers: whatever a reference file holds, a record is read or a BadValue
says why; nothing else escapes (so a reader can always turn it into a RecordIssue and go on)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.sync.sources import gar_records as r
from gateway.sync.sources import values as v
from gateway.sync.sources.base import IssueLog
from gateway.sync.sources.egrn import parse_record
from gateway.sync.sources.licences import LC, NS, OB, ORB, parse_licence

XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=40)
ATTRIBUTE_NAMES = ["ID", "OBJECTID", "OBJECTGUID", "CHANGEID", "HOUSENUM", "ADDNUM1", "ADDNUM2", "HOUSETYPE",
                   "ADDTYPE1", "ADDTYPE2", "OPERTYPEID", "PREVID", "NEXTID", "UPDATEDATE", "STARTDATE", "ENDDATE",
                   "ISACTUAL", "ISACTIVE", "NUMBER", "APARTTYPE", "CHANGEIDEND", "TYPEID", "VALUE", "PARENTOBJID",
                   "OKTMO", "REGIONCODE", "PATH", "NAME", "TYPENAME", "LEVEL", "CREATEDATE", "LEVELID"]
PLAUSIBLE = st.one_of(XML_TEXT, st.integers(-10, 10**20).map(str), st.sampled_from(
    ["0", "1", "2079-06-06", "2012-02-30", "20120101", "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c", "77:02:0018004:2101",
     "45362000000", "1.2.3", "", " 7 ", "٣", "1_000", "+5", "-0"]))
ROWS = st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), PLAUSIBLE, max_size=len(ATTRIBUTE_NAMES))
PARSERS = [r.parse_house, r.parse_apartment, r.parse_address_object, r.parse_registry_object,
           lambda a, f, n: r.parse_param("house", a, f, n), lambda a, f, n: r.parse_hierarchy("mun", a, f, n),
           lambda a, f, n: r.parse_hierarchy("adm", a, f, n)]


@settings(max_examples=400, deadline=None)
@given(ROWS, st.sampled_from(range(len(PARSERS))))
def test_a_gar_row_is_read_or_refused_with_a_bad_value(row: dict[str, str], which: int) -> None:
    try:
        record = PARSERS[which](row, "77/AS_X.XML", 3)
    except v.BadValue as exc:
        assert str(exc)
    else:
        assert record.file == "77/AS_X.XML" and record.line == 3


VALID_HOUSE = st.fixed_dictionaries({
    "ID": st.integers(1, 2**63 - 1).map(str), "OBJECTID": st.integers(1, 10**12).map(str),
    "OBJECTGUID": st.uuids().map(str), "CHANGEID": st.integers(0, 10**12).map(str),
    "HOUSENUM": st.text(st.characters(min_codepoint=33, max_codepoint=1200, blacklist_categories=("Cc", "Zs")),
                        min_size=1, max_size=50),
    "OPERTYPEID": st.integers(0, 99).map(str),
    "UPDATEDATE": st.dates(date(1900, 1, 1), date(2079, 6, 6)).map(date.isoformat),
    "STARTDATE": st.dates(date(1900, 1, 1), date(2079, 6, 6)).map(date.isoformat),
    "ENDDATE": st.dates(date(1900, 1, 1), date(2079, 6, 6)).map(date.isoformat),
    "ISACTUAL": st.sampled_from(["0", "1"]), "ISACTIVE": st.sampled_from(["0", "1"]),
})


@settings(max_examples=200, deadline=None)
@given(VALID_HOUSE)
def test_every_valid_house_row_is_read_exactly(row: dict[str, str]) -> None:
    house = r.parse_house(row, "f", 1)
    assert (house.id, house.object_id, house.change_id) == (int(row["ID"]), int(row["OBJECTID"]), int(row["CHANGEID"]))
    assert house.object_guid == row["OBJECTGUID"].lower() and house.house_num == row["HOUSENUM"].strip()
    assert house.end_date == date.fromisoformat(row["ENDDATE"])
    assert house.is_current == (row["ISACTUAL"] == row["ISACTIVE"] == "1")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_scalar_readers_return_a_value_or_a_bad_value(raw: str) -> None:
    for reader in (v.integer, v.iso_date, v.date_of_datetime, v.flag, v.guid, v.cadastral_number, v.quarter_number,
                   v.oktmo, v.area):
        try:
            value = reader(raw, "field")
        except v.BadValue:
            continue
        assert value is None or isinstance(value, int | date | bool | str | Decimal)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 9999), st.integers(1, 12), st.integers(1, 31))
def test_iso_dates_are_read_when_and_only_when_they_are_calendar_dates(year: int, month: int, day: int) -> None:
    raw = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        expected: date | None = date(year, month, day)
    except ValueError:
        expected = None
    if expected is None:
        try:
            v.iso_date(raw, "d")
        except v.BadValue:
            return
        raise AssertionError(f"{raw} accepted")
    assert v.iso_date(raw, "d") == expected


EGRN_FIELDS = st.fixed_dictionaries({}, optional={
    name: XML_TEXT for name in ["cad", "quarter", "parent", "build", "area", "purpose_code", "purpose", "address",
                                "floor", "registered", "prev", "year"]})


def _room(fields: dict[str, str]) -> Any:
    record = etree.Element("room_record")
    common = etree.SubElement(etree.SubElement(record, "object"), "common_data")
    for key, path in (("cad", "cad_number"), ("quarter", "quarter_cad_number")):
        if key in fields:
            etree.SubElement(common, path).text = fields[key]
    links = etree.SubElement(record, "cad_links")
    if "parent" in fields:
        etree.SubElement(etree.SubElement(links, "parent_cad_number"), "cad_number").text = fields["parent"]
    if "build" in fields:
        etree.SubElement(links, "build_cad_number").text = fields["build"]
    if "prev" in fields:
        etree.SubElement(etree.SubElement(links, "prev_cad_number"), "cad_number").text = fields["prev"]
    params = etree.SubElement(record, "params")
    for key, path in (("area", "area"), ("year", "year_built")):
        if key in fields:
            etree.SubElement(params, path).text = fields[key]
    purpose = etree.SubElement(params, "purpose")
    etree.SubElement(purpose, "code").text = fields.get("purpose_code")
    etree.SubElement(purpose, "value").text = fields.get("purpose")
    if "address" in fields:
        etree.SubElement(record, "readable_address").text = fields["address"]
    if "registered" in fields:
        etree.SubElement(etree.SubElement(record, "record_info"), "registration_date").text = fields["registered"]
    return record


@settings(max_examples=300, deadline=None)
@given(EGRN_FIELDS, st.booleans())
def test_an_egrn_record_is_read_skipped_or_read_without_its_bad_values(fields: dict[str, str], good: bool) -> None:
    if good:
        fields = {**fields, "cad": "77:02:0018004:2101"}
    issues = IssueLog()
    parsed = parse_record(_room(fields), "f.xml", issues)
    if parsed is None:
        assert not good and issues.count == 1 and "skipped" in issues.issues[0].message
        return
    assert parsed.cad_number == fields["cad"].strip()
    assert parsed.area is None or isinstance(parsed.area, Decimal)
    assert all(issue.file == "f.xml" for issue in issues)


LICENCE_FIELDS = st.fixed_dictionaries({
    "number": st.one_of(XML_TEXT, st.sampled_from(["077000001"])),
    "status": st.one_of(XML_TEXT, st.sampled_from(list("AFCRI"))),
    "reg": st.one_of(XML_TEXT, st.sampled_from(["2015-04-20"])),
    "ogrn": st.one_of(XML_TEXT, st.sampled_from(["1027700999017"])),
    "guid": st.one_of(XML_TEXT, st.uuids().map(str)),
    "version": st.one_of(XML_TEXT, st.sampled_from(["3"])),
    "house": st.one_of(XML_TEXT, st.uuids().map(str)),
    "effective": st.one_of(XML_TEXT, st.sampled_from(["2020-01-01"])),
})


def _licence(f: dict[str, str]) -> Any:
    def sub(parent: Any, ns: str, tag: str, value: str | None = None) -> Any:
        element = etree.SubElement(parent, f"{{{ns}}}{tag}")
        element.text = value
        return element
    licence = etree.Element(f"{{{LC}}}License")
    sub(licence, LC, "LicenseNumber", f["number"])
    sub(licence, LC, "LicenseRegDate", f["reg"])
    sub(licence, LC, "LicenseStatus", f["status"])
    authority = sub(licence, LC, "LicensingAuthority")
    sub(authority, ORB, "FullName", "ГЖИ")
    sub(authority, OB, "OGRN", f["ogrn"])
    legal = sub(sub(licence, LC, "LicenseOrganization"), LC, "Legal")
    sub(legal, ORB, "FullName", "УК")
    sub(legal, OB, "OGRN", f["ogrn"])
    house = sub(licence, LC, "House")
    sub(house, LC, "FIASHouseGUID", f["house"])
    sub(house, LC, "HouseAddress", "адрес")
    contract = sub(house, LC, "Contract")
    sub(contract, LC, "ContractGUID", f["guid"])
    sub(contract, LC, "EffectiveDate", f["effective"])
    sub(licence, LC, "LicenseGUID", f["guid"])
    sub(licence, LC, "LicenseVersion", f["version"])
    return licence


@settings(max_examples=300, deadline=None)
@given(LICENCE_FIELDS)
def test_a_licence_is_read_or_refused_with_a_bad_value(fields: dict[str, str]) -> None:
    try:
        licence = parse_licence(_licence(fields), "l.xml")
    except v.BadValue as exc:
        assert str(exc)
        return
    assert licence.number == fields["number"].strip() and licence.status in ("A", "F", "C", "R", "I")
    assert licence.houses[0].fias_house_guid == fields["house"].strip().lower()
    assert NS["lc"] == LC
