"""GAR (FIAS) region folder reader on the fixtures: every field read right, planted facts found, bad input refused."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import Code
from gateway.sync.sources import GarRegion, SourceError, gar_regions
from gateway.sync.sources.gar import classify
from gateway.sync.sources.gar_records import FIAS_OPEN_END
from gateway.sync.sources.schemas import GAR_XSD_ROOT

ROOT = Path(__file__).resolve().parents[2]
GAR = ROOT / "fixtures" / "reference" / "gar"
MALFORMED = ROOT / "fixtures" / "reference" / "malformed"
SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"
SEVER_2 = "4f1c2d3e-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
SEVER_2_SUCCESSOR = "e2a7c0d4-6b1f-4e3a-9c5d-7f8091a2b3c4"
LIPOVAYA_7 = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"


def test_vendored_gar_schemas_are_byte_identical_to_the_published_set() -> None:
    sums = (GAR_XSD_ROOT / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 8  # seven schemas and SOURCE.txt
    for line in sums:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((GAR_XSD_ROOT / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("region", ["77", "50"])
def test_every_fixture_file_conforms_to_its_official_schema(region: str) -> None:
    reader = GarRegion(GAR / region, validate=True)
    counted = sum(1 for _ in reader.records())
    assert counted > 0
    assert reader.issues.count == 0, list(reader.issues)


def test_file_names_are_matched_exactly_and_houses_never_take_house_params() -> None:
    assert classify("AS_HOUSES_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML")[0] == "HOUSES"  # type: ignore[index]
    assert classify("AS_HOUSES_PARAMS_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.xml")[0] == "HOUSES_PARAMS"  # type: ignore[index]
    assert classify("AS_HOUSES_20261002_6F0C2A516F0C2A516F0C2A516F0C2A51.XML") is not None  # dashes optional
    assert classify("AS_HOUSES_20261302_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML") is None  # month 13
    assert classify("AS_HOUSES_2026100_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML") is None
    assert classify("AS_GARAGES_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML") is None  # no such table
    assert classify("as_houses_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML") is None
    assert classify("AS_HOUSES_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML.bak") is None

    reader = GarRegion(GAR / "77")
    assert [f.table for f in reader.files("HOUSES")] == ["HOUSES"]
    assert all(p.owner == "house" for p in reader.house_params())
    assert {h.object_guid for h in reader.houses()} >= {SEVER_1, SEVER_2}


def test_house_rows_are_read_field_by_field() -> None:
    houses = list(GarRegion(GAR / "77").houses())
    assert [h.id for h in houses] == [2000100, 2000101, 2000201, 2000301, 2000401]
    successor = houses[3]
    assert (successor.object_id, successor.object_guid, successor.change_id) == (2000003, SEVER_2_SUCCESSOR, 7000301)
    assert (successor.house_num, successor.add_num1, successor.add_num2) == ("2", "1", None)
    assert (successor.house_type, successor.add_type1, successor.add_type2) == (2, 1, None)
    assert (successor.oper_type_id, successor.prev_id, successor.next_id) == (10, 2000201, 0)
    assert (successor.update_date, successor.start_date, successor.end_date) == (
        date(2024, 3, 1), date(2024, 3, 1), FIAS_OPEN_END)
    assert successor.is_actual and successor.is_active and successor.is_current
    assert successor.file == "77/AS_HOUSES_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML"
    assert successor.line == 7


def test_the_retired_house_points_to_its_successor_and_a_mere_new_version_is_not_retired() -> None:
    houses = list(GarRegion(GAR / "77").houses())
    by_id = {h.id: h for h in houses}
    retired = [h for h in houses if h.object_guid == SEVER_2]
    assert len(retired) == 1 and not retired[0].is_actual and not retired[0].is_active
    assert by_id[retired[0].next_id].object_guid == SEVER_2_SUCCESSOR  # type: ignore[index]
    assert by_id[retired[0].next_id].prev_id == retired[0].id  # type: ignore[index]
    sever_1 = sorted((h for h in houses if h.object_guid == SEVER_1), key=lambda h: h.start_date)
    assert [h.is_current for h in sever_1] == [False, True]  # the old version is history, the house lives
    assert sever_1[0].is_active


def test_apartments_and_their_cadastral_numbers_are_found_through_the_hierarchy() -> None:
    reader = GarRegion(GAR / "77")
    parent = {i.object_id: i.parent_object_id for i in reader.adm_hierarchy() if i.is_active}
    house_objects = {h.object_guid: h.object_id for h in reader.houses() if h.is_current}
    flats = {a.object_id: a.number for a in reader.apartments() if a.is_current}
    today = date(2026, 10, 2)
    cadastral = {p.object_id: p.value for p in reader.apartment_params(types={8}) if p.in_force_on(today)}
    sever_1 = {flats[o]: cadastral.get(o) for o, p in parent.items() if p == house_objects[SEVER_1] and o in flats}
    assert sever_1 == {"Н1": "77:02:0018004:2150", "1": "77:02:0018004:2101", "2": "77:02:0018004:2102",
                       "3": "77:02:0018004:2103", "4": None, "5": "77:02:0018004:2105",
                       "6": "77:02:0018004:2106", "7": None}
    sever_2 = {flats[o] for o, p in parent.items() if p == house_objects[SEVER_2_SUCCESSOR] and o in flats}
    assert sever_2 == {"Н1", "1", "2", "3", "4"}


def test_a_renumbered_apartment_keeps_its_history_row() -> None:
    rows = [a for a in GarRegion(GAR / "77").apartments() if a.object_id == 3000106]
    assert [(a.number, a.is_actual) for a in rows] == [("6а", False), ("6", True)]
    assert rows[0].next_id == rows[1].id and rows[1].prev_id == rows[0].id


def test_params_are_filtered_by_type_and_their_period_is_kept() -> None:
    reader = GarRegion(GAR / "77")
    assert {p.type_id for p in reader.house_params()} == {5, 7, 8}
    assert {p.type_id for p in reader.house_params(types={7})} == {7}
    flat_2 = [p for p in reader.apartment_params(types={8}) if p.object_id == 3000102]
    assert [(p.value, p.is_open_ended) for p in flat_2] == [("77:02:0018004:2002", False), ("77:02:0018004:2102", True)]
    assert not flat_2[0].in_force_on(date(2018, 3, 1)) and flat_2[1].in_force_on(date(2018, 3, 1))
    oktmo = next(p for p in reader.house_params(types={7}) if p.object_id == 2000001)
    assert (oktmo.id, oktmo.change_id, oktmo.change_id_end, oktmo.value) == (4000002, 10000002, 0, "45362000000")


def test_hierarchies_carry_path_oktmo_and_region() -> None:
    reader = GarRegion(GAR / "77")
    adm = {i.object_id: i for i in reader.adm_hierarchy()}
    mun = {i.object_id: i for i in reader.mun_hierarchy()}
    flat = adm[3000105]
    assert (flat.hierarchy, flat.parent_object_id, flat.path) == ("adm", 2000001, (1000001, 1000002, 2000001, 3000105))
    assert (flat.region_code, flat.oktmo) == ("77", None)
    assert (mun[3000105].hierarchy, mun[3000105].oktmo, mun[3000105].region_code) == ("mun", "45362000000", None)
    assert not adm[2000002].is_active
    assert [i.hierarchy for i in reader.hierarchy()].count("mun") == len(mun)


def test_address_and_registry_objects() -> None:
    reader = GarRegion(GAR / "77")
    street = next(o for o in reader.address_objects() if o.level == 8)
    assert (street.name, street.type_name, street.object_id) == ("Северная", "ул", 1000002)
    registry = {o.object_guid: o for o in reader.registry_objects()}
    assert not registry[SEVER_2].is_active and registry[SEVER_2_SUCCESSOR].is_active
    assert registry[SEVER_1].level_id == 10 and registry[SEVER_1].update_date == date(2019, 5, 14)


def test_region_50_knows_lipovaya_7_and_only_two_of_its_flats() -> None:
    reader = GarRegion(GAR / "50")
    assert [h.object_guid for h in reader.houses()] == [LIPOVAYA_7]
    assert sorted(a.number for a in reader.apartments()) == ["1", "2"]


def test_tables_not_read_are_listed_as_skipped_and_the_run_record_describes_the_folder() -> None:
    reader = GarRegion(GAR / "77")
    assert sorted(f.table for f in reader.skipped) == ["CHANGE_HISTORY", "STEADS"]
    described = reader.describe()
    assert described["name"] == "gar" and described["region"] == "77"
    assert described["version"] == "2026.10.02"  # version.txt at the extract's root
    assert len(described["files"]) == 8  # type: ignore[arg-type]
    assert described["skipped"] == [f.name for f in reader.skipped]
    assert described["issues"] == {"count": 0, "kept": 0, "issues": []}


def test_without_version_txt_the_version_is_the_latest_file_date(tmp_path: Path) -> None:
    region = tmp_path / "77"
    shutil.copytree(GAR / "77", region)
    assert GarRegion(region).version == "20261002"


def test_gar_regions_reads_every_region_folder_of_an_extract() -> None:
    assert [r.region for r in gar_regions(GAR)] == ["50", "77"]


def test_an_unknown_file_is_refused_naming_it(tmp_path: Path) -> None:
    region = tmp_path / "77"
    shutil.copytree(GAR / "77", region)
    (region / "notes.txt").write_text("not GAR")
    with pytest.raises(SourceError) as caught:
        GarRegion(region)
    assert caught.value.code == Code.SOURCE_UNKNOWN_FILE
    assert "77/notes.txt" in str(caught.value)


def test_an_unknown_file_is_an_issue_in_lenient_mode(tmp_path: Path) -> None:
    region = tmp_path / "77"
    shutil.copytree(GAR / "77", region)
    (region / "AS_HOUSES_2026_broken.XML").write_text("<HOUSES/>")
    (region / "extra").mkdir()
    reader = GarRegion(region, strict=False)
    assert reader.unknown == ["AS_HOUSES_2026_broken.XML", "extra"]
    assert [i.code for i in reader.issues] == [Code.SOURCE_UNKNOWN_FILE] * 2
    assert len(list(reader.houses())) == 5  # the real files are still read


def test_a_file_whose_root_does_not_match_its_name_is_refused(tmp_path: Path) -> None:
    region = tmp_path / "77"
    region.mkdir()
    (region / "AS_HOUSES_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML").write_text("<APARTMENTS/>")
    with pytest.raises(SourceError) as caught:
        list(GarRegion(region).houses())
    assert caught.value.code == Code.SOURCE_UNKNOWN_FILE and caught.value.line == 1
    assert "root element is APARTMENTS" in str(caught.value)


def test_a_truncated_file_yields_its_good_rows_then_fails_naming_file_and_line() -> None:
    read: list[int] = []
    with pytest.raises(SourceError) as caught:
        for house in GarRegion(MALFORMED / "gar-truncated" / "77").houses():
            read.append(house.id)
    assert read == [2000100, 2000101]
    assert caught.value.code == Code.SOURCE_MALFORMED
    assert caught.value.file == "77/AS_HOUSES_20261002_6f0c2a51-3b7e-4d19-8a42-0c5e9d1b7f30.XML"
    assert caught.value.line == 6
    assert str(caught.value).startswith(f"SYN001001: {caught.value.file}, line 6: not well-formed or truncated XML")


def test_a_doctype_is_refused_and_no_entity_is_expanded() -> None:
    with pytest.raises(SourceError) as caught:
        list(GarRegion(MALFORMED / "gar-doctype" / "77").houses())
    assert caught.value.code == Code.SOURCE_FORBIDDEN_CONSTRUCT


def test_bad_rows_are_issues_with_file_and_line_and_the_stream_goes_on() -> None:
    reader = GarRegion(MALFORMED / "gar-bad-rows" / "77")
    assert [a.number for a in reader.apartments()] == ["1", "5"]
    assert [p.value for p in reader.apartment_params()] == ["77:02:0018004:2101", "127000"]
    issues = list(reader.issues)
    assert [(i.line, i.code) for i in issues] == [(5, Code.SOURCE_RECORD_INVALID), (6, Code.SOURCE_RECORD_INVALID),
                                                  (7, Code.SOURCE_RECORD_INVALID), (5, Code.SOURCE_RECORD_INVALID)]
    assert "OBJECTGUID" in issues[0].message and "not-a-guid" in issues[0].message
    assert "2012-02-30" in issues[1].message and "3OOO104" in issues[2].message
    assert issues[3].file.endswith(".XML") and "77:02:18004:21O5" in issues[3].message


def test_issues_are_bounded_but_all_counted(tmp_path: Path) -> None:
    region = tmp_path / "77"
    region.mkdir()
    rows = "".join(f'<APARTMENT ID="{n}" OBJECTID="x"/>\n' for n in range(50))
    (region / "AS_APARTMENTS_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML").write_text(
        f"<APARTMENTS>\n{rows}</APARTMENTS>")
    reader = GarRegion(region, issue_limit=10)
    assert list(reader.apartments()) == []
    assert reader.issues.count == 50 and len(reader.issues.issues) == 10
    assert reader.describe()["issues"]["count"] == 50  # type: ignore[index]


def test_validation_reports_a_row_the_schema_refuses_and_does_not_yield_it() -> None:
    folder = MALFORMED / "gar-schema-invalid" / "77"
    assert [h.id for h in GarRegion(folder).houses()] == [2000101, 2000401]  # the parser alone accepts both
    reader = GarRegion(folder, validate=True)
    assert [h.id for h in reader.houses()] == [2000101]
    (issue,) = reader.issues
    assert (issue.code, issue.line) == (Code.SOURCE_SCHEMA_INVALID, 5) and "CADNUM" in issue.message


def test_validation_batches_keep_every_row_and_its_line(tmp_path: Path) -> None:
    region = tmp_path / "77"
    region.mkdir()
    row = ('<PARAM ID="{n}" OBJECTID="{n}" CHANGEIDEND="0" TYPEID="{t}" VALUE="{v}" UPDATEDATE="2020-01-01" '
           'STARTDATE="2020-01-01" ENDDATE="2079-06-06"/>\n')
    rows = "".join(row.format(n=n, t=5, v="127000") if n != 4321 else row.format(n=n, t=5, v="") for n in range(5000))
    (region / "AS_HOUSES_PARAMS_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML").write_text(
        f"<PARAMS>\n{rows}</PARAMS>")
    reader = GarRegion(region, validate=True)
    ids = [p.id for p in reader.house_params()]
    assert len(ids) == 4999 and 4321 not in ids and ids == sorted(ids)
    (issue,) = reader.issues
    assert issue.line == 4321 + 2 and issue.code == Code.SOURCE_SCHEMA_INVALID


def test_a_missing_folder_is_unreadable() -> None:
    with pytest.raises(SourceError) as caught:
        GarRegion(GAR / "99")
    assert caught.value.code == Code.SOURCE_UNREADABLE


def test_rows_in_a_namespace_or_with_children_do_not_leak_into_records(tmp_path: Path) -> None:
    region = tmp_path / "77"
    region.mkdir()
    doc = etree.Element("HOUSES")
    etree.SubElement(doc, "{urn:x}HOUSE", ID="1")
    (region / "AS_HOUSES_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML").write_bytes(etree.tostring(doc))
    assert list(GarRegion(region).houses()) == []
