"""Licence register reader on the fixtures: the official shapes, every field, planted licences, bad input."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import Code
from gateway.sync.sources import LicenceRegister, SourceError
from gateway.sync.sources.schemas import licences_schema

ROOT = Path(__file__).resolve().parents[2]
LICENCES = ROOT / "fixtures" / "reference" / "licences"
MALFORMED = ROOT / "fixtures" / "reference" / "malformed"
SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"
SEVER_2 = "4f1c2d3e-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
LIPOVAYA_7 = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
MC_OGRN = "1027700999017"


@pytest.mark.parametrize("name", ["register-77.xml", "export-50.xml"])
def test_the_fixture_files_conform_to_the_official_licences_schema(name: str) -> None:
    root = etree.parse(str(LICENCES / name)).getroot()
    assert licences_schema().errors_by_line(root) == {}


def _licences() -> dict[str, object]:
    return {licence.number: licence for licence in LicenceRegister(LICENCES).licences()}


def test_an_active_licence_is_read_field_by_field() -> None:
    licence = _licences()["077000001"]
    assert (licence.guid, licence.version, licence.status, licence.reg_date) == (  # type: ignore[attr-defined]
        "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b", 3, "A", date(2015, 4, 20))
    assert licence.is_active  # type: ignore[attr-defined]
    assert (licence.authority_name, licence.authority_ogrn) == (  # type: ignore[attr-defined]
        "Государственная жилищная инспекция (тест)", "1027700999040")
    assert licence.region_fias_guid == "0c5b2444-0000-4000-8000-000000000077"  # type: ignore[attr-defined]
    assert (licence.licensee_kind, licence.licensee_ogrn, licence.licensee_inn, licence.licensee_kpp,  # type: ignore[attr-defined]
            licence.licensee_name) == ("legal", MC_OGRN, "7709990015", "770901001", "ООО «УК Северный квартал»")  # type: ignore[attr-defined]
    (house,) = licence.houses  # type: ignore[attr-defined]
    assert (house.fias_house_guid, house.address) == (SEVER_1, "г. Москва, ул. Северная, д. 1")
    assert (house.contract_guid, house.contract_number, house.manager_org_guid) == (
        "c1a0b2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d", "УК-СК/2020-01", "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
    assert (house.signing_date, house.effective_from, house.planned_end, house.terminated) == (
        date(2019, 12, 20), date(2020, 1, 1), date(2030, 12, 31), None)
    assert house.effective_to == date(2030, 12, 31)
    assert house.covers(date(2026, 10, 2)) and not house.covers(date(2019, 12, 31))
    assert (licence.file, licence.line) == ("register-77.xml", 6)  # type: ignore[attr-defined]


def test_the_planted_licence_facts_are_there() -> None:
    licences = _licences()
    managers = [lic for lic in licences.values() if lic.licensee_ogrn == MC_OGRN]  # type: ignore[attr-defined]
    # the management company's only licence lists Severnaya 1 but not Severnaya 2, which it manages too
    assert [lic.number for lic in managers] == ["077000001"]  # type: ignore[attr-defined]
    assert managers[0].lists(SEVER_1) and not managers[0].lists(SEVER_2)  # type: ignore[attr-defined]
    # a finished licence of the previous manager of Severnaya 2, its contract terminated early
    finished = licences["077000002"]
    assert finished.status == "F" and finished.lists(SEVER_2)  # type: ignore[attr-defined]
    assert finished.houses[0].effective_to == date(2019, 12, 31)  # type: ignore[attr-defined]
    assert finished.houses[0].planned_end == date(2020, 4, 30)  # type: ignore[attr-defined]
    # a cancelled licence over a house the registry does not hold
    assert licences["077000003"].status == "C"  # type: ignore[attr-defined]
    # region 50: an active licence of another company lists Lipovaya 7 with a contract that ended in 2016
    other = licences["050000001"]
    lipovaya = next(h for h in other.houses if h.fias_house_guid == LIPOVAYA_7)  # type: ignore[attr-defined]
    assert other.is_active and not lipovaya.covers(date(2026, 10, 2))  # type: ignore[attr-defined]
    listed_without_contract = next(h for h in other.houses if h.fias_house_guid != LIPOVAYA_7)  # type: ignore[attr-defined]
    assert listed_without_contract.contract_guid is None and listed_without_contract.effective_to is None
    assert not listed_without_contract.covers(date(2026, 10, 2))


def test_an_entrepreneur_licensee_is_read_without_the_persons_name() -> None:
    licence = _licences()["050000002"]
    assert (licence.licensee_kind, licence.licensee_ogrn, licence.licensee_inn, licence.licensee_name) == (  # type: ignore[attr-defined]
        "entrepreneur", "304500099900014", "500999000170", None)
    assert licence.status == "I" and licence.houses == ()  # type: ignore[attr-defined]
    assert "НЕ-ЧИТАТЬ" not in repr(licence)


def test_both_official_shapes_and_a_soap_envelope_and_a_bare_list_are_read(tmp_path: Path) -> None:
    state = etree.parse(str(LICENCES / "register-77.xml")).getroot()
    envelope = etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Envelope")
    etree.SubElement(envelope, "{http://schemas.xmlsoap.org/soap/envelope/}Header")
    etree.SubElement(envelope, "{http://schemas.xmlsoap.org/soap/envelope/}Body").append(state)
    (tmp_path / "envelope.xml").write_bytes(etree.tostring(envelope))
    bare = etree.Element("licences")
    for licence in etree.parse(str(LICENCES / "export-50.xml")).getroot():
        bare.append(licence)
    (tmp_path / "bare.xml").write_bytes(etree.tostring(bare))
    register = LicenceRegister(tmp_path)
    assert sorted(lic.number for lic in register.licences()) == [
        "050000001", "050000002", "077000001", "077000002", "077000003", "077000004"]


def test_describe_and_version() -> None:
    register = LicenceRegister(LICENCES)
    described = register.describe()
    assert described["name"] == "licences" and [f["name"] for f in described["files"]] == [  # type: ignore[attr-defined]
        "export-50.xml", "register-77.xml"]
    assert str(register.version).startswith("sha256:") and register.version == LicenceRegister(LICENCES).version


def test_a_bad_value_skips_that_licence_only() -> None:
    register = LicenceRegister(MALFORMED / "licences-bad")
    assert [lic.number for lic in register.licences()] == ["077000003"]
    first, second = register.issues
    assert (first.line, first.code) == (6, Code.SOURCE_RECORD_INVALID) and "077000001" in first.message
    assert "'X'" in first.message
    assert (second.line, second.code) == (59, Code.SOURCE_RECORD_INVALID)
    assert "4f1c2d3e-5a6b-4c7d-8e9f" in second.message


def test_validation_refuses_a_licence_the_schema_refuses() -> None:
    folder = MALFORMED / "licences-schema-invalid"
    assert len(list(LicenceRegister(folder).licences())) == 3
    register = LicenceRegister(folder, validate=True)
    assert [lic.number for lic in register.licences()] == ["077000001", "077000003"]
    (issue,) = register.issues
    assert issue.code == Code.SOURCE_SCHEMA_INVALID and "LicensableTypeOfActivity" in issue.message
    assert issue.line == 70


def test_a_truncated_file_fails_naming_file_and_line() -> None:
    with pytest.raises(SourceError) as caught:
        list(LicenceRegister(MALFORMED / "licences-truncated").licences())
    assert caught.value.code == Code.SOURCE_MALFORMED
    assert (caught.value.file, caught.value.line) == ("register-77.xml", 50)


def test_a_file_that_is_not_a_licence_result_is_unknown(tmp_path: Path) -> None:
    shutil.copy(LICENCES / "register-77.xml", tmp_path)
    (tmp_path / "other.xml").write_text("<exportHouseResult/>")
    with pytest.raises(SourceError) as caught:
        LicenceRegister(tmp_path)
    assert caught.value.code == Code.SOURCE_UNKNOWN_FILE and caught.value.file == "other.xml"
    lenient = LicenceRegister(tmp_path, strict=False)
    assert lenient.unknown == ["other.xml"] and len(list(lenient.licences())) == 4
