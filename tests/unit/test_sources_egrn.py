"""EGRN extract reader on the fixtures: fields, encodings, bulk files, planted facts, no personal data, bad input."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.errors import Code
from gateway.sync.sources import EgrnExtracts, EgrnObject, SourceError

ROOT = Path(__file__).resolve().parents[2]
EGRN = ROOT / "fixtures" / "reference" / "egrn"
GAR = ROOT / "fixtures" / "reference" / "gar"
MALFORMED = ROOT / "fixtures" / "reference" / "malformed"


def _by_number() -> dict[str, object]:
    return {o.cad_number: o for o in EgrnExtracts(EGRN).objects()}


def test_a_room_extract_is_read_field_by_field() -> None:
    room = EgrnExtracts(EGRN / "sever-1" / "extract_base_params_room_77-02-0018004-2105.xml").objects()
    (flat_5,) = list(room)
    assert dataclasses.asdict(flat_5) == {
        "kind": "room", "cad_number": "77:02:0018004:2105", "extract": "extract_base_params_room",
        "date_formation": date(2026, 9, 28), "registration_number": "КУВИ-001/2026-0002105",
        "object_type_code": "002001003000", "object_type": "Помещение", "quarter_cad_number": "77:02:0018004",
        "parent_cad_number": "77:02:0018004:1120", "build_cad_number": None, "area": Decimal("41.7"),
        "purpose_code": "206002000000", "purpose": "Жилое", "name": "Квартира", "room_type": "Квартира",
        "readable_address": "г. Москва, ул. Северная, д. 1, кв. 5", "floor": "3", "floors": None, "year_built": None,
        "registration_date": date(2012, 6, 30), "prev_cad_numbers": ("77:02:0018004:2099",), "new_cad_numbers": (),
        "status": 'Сведения об объекте недвижимости имеют статус "актуальные"',
        "file": "extract_base_params_room_77-02-0018004-2105.xml", "line": 15,
    }
    assert flat_5.residential is True and flat_5.house_cad_number == "77:02:0018004:1120"


def test_a_build_extract_is_read() -> None:
    build = _by_number()["77:02:0018004:1120"]
    assert (build.kind, build.area, build.floors, build.year_built, build.purpose) == (  # type: ignore[attr-defined]
        "build", Decimal("5400.5"), "9", 1975, "Многоквартирный дом")
    assert build.readable_address == "г. Москва, ул. Северная, д. 1"  # type: ignore[attr-defined]
    assert build.residential is True  # type: ignore[attr-defined]


def test_windows_1251_extracts_are_decoded_as_declared() -> None:
    lipovaya = EgrnExtracts(EGRN / "lipovaya-7")
    objects = list(lipovaya.objects())
    assert [o.cad_number for o in objects] == ["50:21:0080104:311", "50:21:0080104:1001", "50:21:0080104:1002",
                                               "50:21:0080104:1003"]
    assert objects[1].readable_address == "Московская обл., г.о. Тестовый, ул. Липовая аллея, д. 7, кв. 1"
    assert objects[1].purpose == "Жилое"
    assert b"encoding=\"WINDOWS-1251\"" in (EGRN / "lipovaya-7" / "rooms-50-21-0080104.xml").read_bytes()[:60]


def test_a_bulk_file_holds_many_extracts_under_a_wrapper_root() -> None:
    bulk = list(EgrnExtracts(EGRN / "bulk-sever-2.xml").objects())
    assert [(o.kind, o.cad_number) for o in bulk] == [
        ("build", "77:02:0018005:1005"), ("room", "77:02:0018005:3100"), ("room", "77:02:0018005:3001"),
        ("room", "77:02:0018005:3002"), ("room", "77:02:0018005:3003")]
    assert {o.date_formation for o in bulk} == {date(2026, 9, 29)}
    by_number = {o.cad_number: o for o in bulk}
    assert by_number["77:02:0018005:3002"].parent_cad_number is None
    assert by_number["77:02:0018005:3002"].house_cad_number == "77:02:0018005:1005"  # from build_cad_number
    assert by_number["77:02:0018005:3001"].build_cad_number == "77:02:0018005:1005"


def test_the_planted_cadastral_facts_are_there() -> None:
    objects = _by_number()
    # flat 3 of Severnaya 1: 63.0 in the registry, 67.9 in EGRN (more than 5 % off)
    assert objects["77:02:0018004:2103"].area == Decimal("67.9")  # type: ignore[attr-defined]
    # flat 2: 41.7 in the registry, 41.9 in EGRN (within 5 %: no discrepancy)
    assert objects["77:02:0018004:2102"].area == Decimal("41.9")  # type: ignore[attr-defined]
    # flat 6 is residential in the registry, non-residential in EGRN
    assert objects["77:02:0018004:2106"].residential is False  # type: ignore[attr-defined]
    # flat 5 (no number in the registry) and Н1 of Severnaya 2 (No_RSO_GKN_EGRP_Registered) have candidates
    assert objects["77:02:0018004:2105"].area == Decimal("41.7")  # type: ignore[attr-defined]
    assert objects["77:02:0018005:3100"].readable_address.endswith("пом. Н1")  # type: ignore[attr-defined]
    # the registry's number of flat 4 of Severnaya 2 is unknown to EGRN
    assert "77:02:0018005:3004" not in objects
    assert len([o for o in objects.values() if o.kind == "room"]) == 13  # type: ignore[attr-defined]


def test_kinds_can_be_chosen() -> None:
    extracts = EgrnExtracts(EGRN)
    assert {o.kind for o in extracts.rooms()} == {"room"}
    assert sorted(o.cad_number for o in extracts.builds()) == [
        "50:21:0080104:311", "77:02:0018004:1120", "77:02:0018005:1005"]


def test_no_personal_data_is_read() -> None:
    for obj in EgrnExtracts(EGRN).objects():
        flat = repr(dataclasses.asdict(obj))
        assert "НЕ-ЧИТАТЬ" not in flat and "Тестович" not in flat and "000-000-000" not in flat


def test_describe_gives_a_content_digest_and_the_latest_extract_date() -> None:
    extracts = EgrnExtracts(EGRN)
    list(extracts.objects())
    described = extracts.describe()
    assert described["file_count"] == 10 and described["latest_date_formation"] == "2026-09-30"
    assert str(described["version"]).startswith("sha256:")
    assert EgrnExtracts(EGRN).version == extracts.version


def test_the_version_changes_with_the_content(tmp_path: Path) -> None:
    folder = tmp_path / "egrn"
    shutil.copytree(EGRN, folder)
    before = EgrnExtracts(folder).version
    room = folder / "sever-1" / "extract_base_params_room_77-02-0018004-2102.xml"
    room.write_bytes(room.read_bytes().replace(b"41.9", b"41.8"))
    assert EgrnExtracts(folder).version != before


def test_a_bad_cadastral_number_skips_the_record_other_bad_values_cost_only_themselves() -> None:
    extracts = EgrnExtracts(MALFORMED / "egrn-bad-values")
    objects = list(extracts.objects())
    assert [o.cad_number for o in objects] == ["77:02:0018004:2102", "77:02:0018004:2103"]
    garbled = objects[0]
    assert (garbled.area, garbled.quarter_cad_number, garbled.parent_cad_number, garbled.date_formation,
            garbled.registration_date) == (None, None, None, None, None)
    assert garbled.residential is True  # what could be read was read
    assert objects[1].area == Decimal("63.0")
    issues = list(extracts.issues)
    assert [(i.line, i.code) for i in issues] == [(6, Code.SOURCE_RECORD_INVALID)] + [
        (13, Code.SOURCE_RECORD_INVALID)] + [(14, Code.SOURCE_RECORD_INVALID)] * 4
    assert "77:02:18004:2101" in issues[0].message and "сорок два" in issues[4].message


def test_a_truncated_extract_fails_naming_file_and_line() -> None:
    with pytest.raises(SourceError) as caught:
        list(EgrnExtracts(MALFORMED / "egrn-truncated").objects())
    assert caught.value.code == Code.SOURCE_MALFORMED
    assert (caught.value.file, caught.value.line) == ("extract_base_params_room_77-02-0018004-2103.xml", 24)


def test_a_file_that_is_not_an_extract_is_an_unknown_file(tmp_path: Path) -> None:
    folder = tmp_path / "egrn"
    shutil.copytree(EGRN / "sever-1", folder)
    houses = next((GAR / "77").glob("AS_HOUSES_2026*"))
    shutil.copy(houses, folder / "houses.xml")
    (folder / "readme.pdf").write_bytes(b"%PDF")
    with pytest.raises(SourceError) as caught:
        EgrnExtracts(folder)
    assert caught.value.code == Code.SOURCE_UNKNOWN_FILE and caught.value.file == "houses.xml"
    lenient = EgrnExtracts(folder, strict=False)
    assert lenient.unknown == ["houses.xml", "readme.pdf"]
    assert len(list(lenient.objects())) == 7


def test_a_doctype_in_an_extract_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                    "<extract_base_params_room><room_record/></extract_base_params_room>")
    with pytest.raises(SourceError) as caught:
        EgrnExtracts(path)
    assert caught.value.code == Code.SOURCE_FORBIDDEN_CONSTRUCT


def test_a_missing_path_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        EgrnExtracts(tmp_path / "nothing")
    assert caught.value.code == Code.SOURCE_UNREADABLE


def test_record_fields_line_up_with_the_object_they_become() -> None:
    from gateway.sync.sources.egrn import RecordFields

    names = [f.name for f in dataclasses.fields(EgrnObject)]
    assert names[:len(RecordFields._fields)] == list(RecordFields._fields)
    assert names[len(RecordFields._fields):] == ["extract", "date_formation", "registration_number", "status"]
