"""Charters and resource supply contracts over SOAP: a zeep client built from the official WSDL posts them,
the worker records them, and the authority they give shows in what the sender may post next."""

from __future__ import annotations

import uuid
from pathlib import Path

from lxml import etree

from gateway.bootstrap import Gateway
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.client import outcome
from tests.conftest import management_contract
from tests.e2e.test_accounts_flow import HOA, MC, RSO, account, client, flats, import_accounts
from tests.e2e.test_metering_flow import assert_results_are_schema_valid

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"


def _fresh(path: Path, house: str) -> etree._Element:
    """A fixture document for another house, with new TransportGUIDs (a PairKey follows the one it names)."""
    root = parse_untrusted(path.read_bytes())
    for fias in root.iter(f"{{{HM}}}FIASHouseGuid"):
        fias.text = house
    renamed: dict[str, str] = {}
    for transport in root.iter(f"{{{BASE}}}TransportGUID"):
        renamed[transport.text or ""] = transport.text = str(uuid.uuid4())
    for key in root.iter(f"{{{HM}}}PairKey"):
        key.text = renamed[key.text or ""]
    return root


def _house(provider, fias: str, fixture: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    house = parse_untrusted((FIXTURES / "houses" / fixture).read_bytes())
    house.find(f".//{{{HM}}}FIASHouseGuid").text = fias
    for transport in house.iter(f"{{{BASE}}}TransportGUID"):
        transport.text = str(uuid.uuid4())
    posted = provider.send("importHouseUOData", provider.request_from_xml(house))
    assert [r.error_code for r in outcome(posted, provider.wait(posted, timeout=30)).objects][0] is None
    return flats(provider, fias)


def test_a_charter_posted_over_soap_gives_the_hoa_its_house(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    hoa, mc = client(server, pki, HOA), client(server, pki, MC)
    house = str(uuid.uuid4())
    refused = mc.send("importHouseUOData", mc.request_from_xml(_fresh(FIXTURES / "houses" / "lipovaya-7.xml",
                                                                       house)))
    assert [r.error_code for r in outcome(refused, mc.wait(refused, timeout=30)).objects][0] == "SRV002002"

    charter = _fresh(FIXTURES / "contracts" / "lipovaya-7-charter.xml", house)
    placed = hoa.send("importCharterData", hoa.request_from_xml(charter))
    result = hoa.wait(placed, timeout=30).ImportResult[0].CommonResult[0]
    assert result.importCharter.CharterStatus == "Approved"
    assert [o.FIASHouseGuid for o in result.importCharter.ContractObject] == [house]
    assert result.importCharter.VersionNumber == 1

    assert _house(hoa, house, "lipovaya-7.xml")  # the HOA may now post its house
    # while the charter stands, another organisation's management contract for the house conflicts with it
    rival = mc.send("importContractData", mc.request_from_xml(management_contract([house], number="УК-спор")))
    assert [r.error_code for r in outcome(rival, mc.wait(rival, timeout=30)).objects] == ["SRV002003"]
    assert_results_are_schema_valid(gateway)


def test_a_supply_contract_posted_over_soap_binds_the_supplier_to_its_houses(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    mc, rso = client(server, pki, MC), client(server, pki, RSO)
    house = str(uuid.uuid4())
    contract = mc.send("importContractData", mc.request_from_xml(management_contract([house], number="УК-РСО")))
    assert [r.error_code for r in outcome(contract, mc.wait(contract, timeout=30)).objects] == [None]
    flat = _house(mc, house, "sever-1.xml")["1"]
    before, state = import_accounts(rso, [account(flat, "Водопотребитель", kind="isRSOAccount")])
    assert [r.error_code for r in outcome(before, state).objects] == ["SRV002002"]

    supply = _fresh(FIXTURES / "contracts" / "vodokanal-supply.xml", house)
    supply.find(f".//{{{HM}}}ContractNumber").text = "ХВС-2026/1"
    placed = rso.send("importSupplyResourceContractData", rso.request_from_xml(supply))
    common = rso.wait(placed, timeout=30).ImportResult[0].CommonResult
    assert all(c.ImportSupplyResourceContract.ContractRootGUID for c in common)

    after, state = import_accounts(rso, [account(flat, "Водопотребитель", kind="isRSOAccount")])
    assert [r.error_code for r in outcome(after, state).objects] == [None]
    assert_results_are_schema_valid(gateway)
