"""Mapping between the official importHouseUORequest/exportHouseResult XML and the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree

from gateway import ns
from gateway.domain.commands import HouseToCreate, PremisesToCreate, Unsupported
from gateway.domain.model import Cadastral, CadastralStatus, House, Premises, PremisesData, PremisesKind
from gateway.domain.values import CadastralNumber, Guid, InvalidValue
from gateway.errors import Code
from gateway.soap import houses_xml, results_xml
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "houses"


def _decode(name: str):  # type: ignore[no-untyped-def]
    return houses_xml.decode_import_house_uo(parse_untrusted((FIXTURES / name).read_bytes()))


def test_fixture_house_decodes_into_house_and_premises_with_cadastral_states() -> None:
    command = _decode("sever-1.xml")
    assert isinstance(command.house, HouseToCreate)
    house = command.house.data
    assert not isinstance(house, InvalidValue)
    assert str(house.cadastral.number) == "77:02:0018004:1120"
    assert house.total_square == Decimal("5400.5") and house.floor_count == 9 and str(house.oktmo) == "45362000"
    premises = {p.data.number: p.data for p in command.premises if isinstance(p, PremisesToCreate)
                and not isinstance(p.data, InvalidValue)}
    assert len(premises) == 7
    assert premises["4"].cadastral.status is CadastralStatus.NO_NUMBER
    assert premises["5"].cadastral.status is CadastralStatus.MISSING
    assert premises["Н1"].kind is PremisesKind.NON_RESIDENTIAL


def test_invalid_cadastral_number_travels_as_a_coded_error_of_that_object_only() -> None:
    command = _decode("sever-2.xml")
    broken = [p for p in command.premises if isinstance(p, PremisesToCreate) and isinstance(p.data, InvalidValue)]
    assert len(broken) == 1
    assert broken[0].data.code is Code.CADASTRAL_NUMBER_INVALID  # type: ignore[union-attr]
    assert "77:01:12:5" in str(broken[0].data)


def test_branches_not_processed_yet_get_one_unsupported_answer_per_transport_guid() -> None:
    request = parse_untrusted((FIXTURES / "sever-1.xml").read_bytes())
    apartment = request.find(f"{{{ns.HM}}}ApartmentHouse")
    lift = etree.SubElement(apartment, f"{{{ns.HM}}}LiftToCreate")
    etree.SubElement(lift, f"{{{ns.BASE}}}TransportGUID").text = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    command = houses_xml.decode_import_house_uo(request)
    unsupported = [p for p in command.premises if isinstance(p, Unsupported)]
    assert [str(u.transport_guid) for u in unsupported] == ["aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"]
    assert "LiftToCreate" in unsupported[0].what


def _house() -> House:
    command = _decode("sever-1.xml")
    assert isinstance(command.house, HouseToCreate) and not isinstance(command.house.data, InvalidValue)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    premises = (
        Premises(Guid.new(), "0004536200000000000000001-0000000001", Guid.new(),
                 PremisesData(PremisesKind.NON_RESIDENTIAL, "Н1",
                              Cadastral(CadastralStatus.NOT_REGISTERED), Decimal("120.4000")), Guid.new(), now),
        Premises(Guid.new(), "0004536200000000000000001-0000000002", Guid.new(),
                 PremisesData(PremisesKind.RESIDENTIAL, "1", Cadastral.of(CadastralNumber("77:02:0018004:2101")),
                              Decimal("54.3000"), Decimal("38.1"), "1"), Guid.new(), now),
    )
    return House(Guid.new(), "0004536200000000000000001-67615", command.house.data, Guid.new(), Guid.new(), now,
                 premises)


def test_export_result_is_valid_against_the_official_schema() -> None:
    root = results_xml.state_result(ns.HM, "11.0.0.1", Guid.new(), 3)
    houses_xml.encode_export_house(root, _house())
    validate(root, Service.HOUSE_MANAGEMENT)
    flats = root.findall(f".//{{{ns.HM}}}ResidentialPremises")
    assert flats[0].findtext(f"{{{ns.HM}}}TotalArea") == "54.3"
    shop = root.find(f".//{{{ns.HM}}}NonResidentialPremises")
    assert shop.findtext(f"{{{ns.HM}}}No_RSO_GKN_EGRP_Registered") == "true"


def test_import_results_with_success_and_error_branches_are_schema_valid() -> None:
    from gateway.domain.results import ObjectResult

    root = results_xml.state_result(ns.HM, "11.0.0.1", Guid.new(), 3)
    import_result = etree.SubElement(root, f"{{{ns.HM}}}ImportResult")
    import_result.set(f"{{{ns.BASE}}}version", "10.0.1.1")
    now = datetime(2026, 11, 23, tzinfo=UTC)
    results_xml.append_common_results(import_result, ns.HM, [
        ObjectResult(Guid.new(), guid=Guid.new(), unique_number="1", update_date=now),
        ObjectResult.failed(Guid.new(), Code.CADASTRAL_NUMBER_INVALID, "bad"),
    ])
    validate(root, Service.HOUSE_MANAGEMENT)
