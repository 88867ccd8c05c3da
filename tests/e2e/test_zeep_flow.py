"""A provider's zeep client, built from the WSDL the server serves, through the whole path and back."""

from __future__ import annotations

from pathlib import Path

import pytest
import zeep
from sqlalchemy import func, select

from gateway.bootstrap import Gateway
from gateway.registry.tables import houses, premises
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.client import AnswerNotTrusted, GisClient, outcome

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"


def client(server: EmbeddedServer, pki, org: str, signer: str | None = None) -> GisClient:  # type: ignore[no-untyped-def]
    issued = pki.by_org[signer or org]
    return GisClient(server.url, org_guid=org, key=issued.key, cert=issued.cert, gateway_cert=pki.gateway.cert,
                     timeout=10)


def test_houses_posted_with_zeep_are_registered_and_exported(
        server: EmbeddedServer, live_worker, gateway: Gateway, pki) -> None:  # type: ignore[no-untyped-def]
    provider = client(server, pki, MC)
    first = provider.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)
    assert first.request_state == 3 and len(first.objects) == 8 and all(o.ok for o in first.objects)
    second = provider.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-2.xml", timeout=30)
    refused = [o for o in second.objects if not o.ok]
    assert [(o.error_code, "77:01:12:5" in (o.description or "")) for o in refused] == [("SRV001001", True)]

    guid = provider.send("exportHouseData", {"FIASHouseGuid": "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c",
                                             "Id": "signed-data-container", "version": "15.10.0.0"})
    exported = provider.wait(guid, timeout=30).exportHouseResult
    assert exported.HouseGUID == first.objects[0].guid
    flats = {p.PremisesNum: p.CadastralNumber for p in exported.ApartmentHouse.ResidentialPremises}
    assert flats["1"] == "77:02:0018004:2101" and flats["4"] is None
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(houses)).scalar() == 2
        assert connection.execute(select(func.count()).select_from(premises)).scalar() == 11


def test_a_tampered_request_is_refused_with_its_code(server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    provider = client(server, pki, MC)

    class Tamper(zeep.Plugin):
        def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
            envelope.find(".//{*}TotalSquare").text = "1.0"
            return envelope, http_headers

    provider.client.plugins.append(Tamper())
    with pytest.raises(zeep.exceptions.Fault) as fault:
        provider.send_file("importHouseUOData", FIXTURES / "houses" / "sever-1.xml")
    assert fault.value.message.startswith("INT002002")
    detail = fault.value.detail.find(".//{*}ErrorCode")
    assert detail.text == "INT002002"


def test_a_request_signed_by_another_organisation_is_refused(server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    impostor = client(server, pki, MC, signer=HOA)
    with pytest.raises(zeep.exceptions.Fault) as fault:
        impostor.send_file("importHouseUOData", FIXTURES / "houses" / "sever-1.xml")
    assert fault.value.message.startswith("INT002007")


def test_a_resend_returns_the_same_ack_and_writes_once(
        server: EmbeddedServer, live_worker, gateway: Gateway, pki) -> None:  # type: ignore[no-untyped-def]
    provider = client(server, pki, HOA)
    request = provider.request_from_xml(parse_untrusted((FIXTURES / "houses" / "lipovaya-7.xml").read_bytes()))
    requester = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    first = provider.send("importHouseUOData", request, message_guid=requester)
    state = provider.wait(first, timeout=30)
    again = provider.send("importHouseUOData", request, message_guid=requester)  # re-signed: new signature
    assert again == first
    assert outcome(again, provider.wait(again, timeout=30)).objects == outcome(first, state).objects
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(houses)).scalar() == 1


def test_answers_are_signed_by_the_gateway_and_a_wrong_pin_is_refused(
        server: EmbeddedServer, live_worker, pki) -> None:  # type: ignore[no-untyped-def]
    provider = client(server, pki, MC)
    guid = provider.send_file("importHouseUOData", FIXTURES / "houses" / "sever-1.xml")
    assert int(provider.wait(guid, timeout=30).RequestState) == 3  # verified against the pinned certificate
    mistrusting = GisClient(server.url, org_guid=MC, key=pki.by_org[MC].key, cert=pki.by_org[MC].cert,
                            gateway_cert=pki.by_org[HOA].cert, timeout=10)
    with pytest.raises(AnswerNotTrusted, match="not the pinned gateway certificate"):
        mistrusting.get_state(guid)
