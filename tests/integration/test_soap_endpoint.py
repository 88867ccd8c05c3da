"""The SOAP endpoint over real HTTP on 127.0.0.1: every refusal is a SOAP fault with a stable code."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import func, select

from gateway.bootstrap import Gateway
from gateway.domain.values import Guid
from gateway.registry.tables import messages
from gateway.signing import keys, verify
from gateway.soap.server import EmbeddedServer
from tests.conftest import SEED_MESSAGES, SEED_OPERATIONS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOUSE = (FIXTURES / "houses" / "sever-1.xml").read_bytes()
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"
PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"
BASE = "{http://dom.gosuslugi.ru/schema/integration/base/}"
HM = "{http://dom.gosuslugi.ru/schema/integration/house-management/}"


def post(server: EmbeddedServer, body: bytes, action: str = "urn:importHouseUOData") -> requests.Response:
    return requests.post(server.url + PATH, data=body, timeout=10,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'})


def fault_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("text/xml")
    return etree.fromstring(response.content).findtext(f".//{BASE}Fault/{BASE}ErrorCode") or ""


def stored(gateway: Gateway) -> int:
    """Messages the test stored (the fixture's contracts and charters are not counted)."""
    with gateway.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(messages).where(
            messages.c.operation.not_in(SEED_OPERATIONS))).scalar() or 0)


def test_wsdl_is_the_official_one_with_the_gateways_address(server: EmbeddedServer) -> None:
    response = requests.get(server.url + PATH + "?wsdl", timeout=10)
    assert response.status_code == 200
    wsdl = etree.fromstring(response.content)
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == server.url + PATH
    assert len(wsdl.findall(".//{http://schemas.xmlsoap.org/wsdl/}portType/{http://schemas.xmlsoap.org/wsdl/}"
                            "operation")) == 42


def test_schemas_are_served_where_the_wsdl_imports_resolve(server: EmbeddedServer) -> None:
    types = requests.get(server.url + "/ext-bus-home-management-service/services/hcs-house-management-types.xsd",
                         timeout=10)
    base = requests.get(server.url + "/ext-bus-home-management-service/lib/hcs-base.xsd", timeout=10)
    assert types.status_code == 200 and base.status_code == 200
    escape = requests.get(server.url + "/ext-bus-home-management-service/lib/..%2F..%2Fsetup.cfg", timeout=10)
    assert escape.status_code == 404


def test_a_signed_request_is_acknowledged_with_a_gateway_message_guid(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    requester = str(uuid.uuid4())
    response = post(server, envelopes.signed(HOUSE, org=MC, message_guid=requester))
    assert response.status_code == 200, response.text
    ack = etree.fromstring(response.content).find(f".//{BASE}AckRequest/{BASE}Ack")
    assert ack.findtext(f"{BASE}RequesterMessageGUID") == requester
    assert ack.findtext(f"{BASE}MessageGUID") != requester
    assert stored(gateway) == 1


def test_resending_the_same_message_returns_the_same_ack_and_stores_nothing_new(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    body = envelopes.signed(HOUSE, org=MC)
    first, second = post(server, body), post(server, body)
    guid = etree.fromstring(first.content).findtext(f".//{BASE}Ack/{BASE}MessageGUID")
    assert etree.fromstring(second.content).findtext(f".//{BASE}Ack/{BASE}MessageGUID") == guid
    assert stored(gateway) == 1


def test_getstate_answers_received_then_the_per_object_results(
        server: EmbeddedServer, gateway: Gateway, envelopes, pki) -> None:  # type: ignore[no-untyped-def]
    ack = etree.fromstring(post(server, envelopes.signed(HOUSE, org=MC)).content)
    guid = ack.findtext(f".//{BASE}Ack/{BASE}MessageGUID")
    before = etree.fromstring(post(server, envelopes.get_state(guid, org=MC), "urn:getState").content)
    assert before.findtext(f".//{BASE}RequestState") == "1"
    assert verify(before.find(f".//{HM}getStateResult")).fingerprint == keys.describe(pki.gateway.cert).fingerprint
    assert gateway.worker.drain() == 1
    after = etree.fromstring(post(server, envelopes.get_state(guid, org=MC), "urn:getState").content)
    result = after.find(f".//{HM}getStateResult")
    assert result.get(f"{BASE}version") == "11.0.0.1"
    assert result.findtext(f"{BASE}RequestState") == "3"
    assert result.find(f"{HM}ImportResult").get(f"{BASE}version") == "10.0.1.1"
    assert len(result.findall(f".//{HM}CommonResult")) == 8
    assert not result.findall(f".//{BASE}Error")
    assert verify(result).fingerprint == keys.describe(pki.gateway.cert).fingerprint  # signed, as stored


def test_another_organisation_cannot_read_a_messages_state(
        server: EmbeddedServer, envelopes) -> None:  # type: ignore[no-untyped-def]
    ack = etree.fromstring(post(server, envelopes.signed(HOUSE, org=MC)).content)
    guid = ack.findtext(f".//{BASE}Ack/{BASE}MessageGUID")
    response = post(server, envelopes.get_state(guid, org=HOA), "urn:getState")
    assert response.status_code == 500 and fault_code(response) == "INT003001"


@pytest.mark.parametrize("case, code", [
    ("malformed", "INT001002"),
    ("doctype", "INT001003"),
    ("soap12", "INT001004"),
    ("no_header", "INT001006"),
    ("bad_header", "INT001006"),
    ("unknown_operation", "INT001005"),
    ("action_mismatch", "INT001005"),
    ("schema_invalid", "INT001007"),
    ("bad_version", "INT001008"),
    ("unsigned", "INT002001"),
    ("foreign_certificate", "INT002007"),
    ("unknown_organisation", "INT002009"),
    ("tampered", "INT002002"),
    ("unknown_message", "INT003001"),
])
def test_bad_requests_get_a_fault_with_their_code_and_nothing_is_stored(
        server: EmbeddedServer, gateway: Gateway, envelopes, case: str, code: str) -> None:  # type: ignore[no-untyped-def]
    action = "urn:importHouseUOData"
    if case == "malformed":
        body = b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><unclosed>"
    elif case == "doctype":
        body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    elif case == "soap12":
        body = envelopes.signed(HOUSE, org=MC).replace(b"http://schemas.xmlsoap.org/soap/envelope/",
                                                      b"http://www.w3.org/2003/05/soap-envelope")
    elif case == "no_header":
        body = envelopes.wrap(HOUSE, org=MC, header=False)
    elif case == "bad_header":
        body = envelopes.signed(HOUSE, org=MC).replace(b"orgPPAGUID>6e5d", b"orgPPAGUID>zz5d")
    elif case == "unknown_operation":
        body = envelopes.wrap(b'<hm:importAccountRequest xmlns:hm="http://dom.gosuslugi.ru/schema/integration/'
                              b'house-management/"/>', org=MC)
    elif case == "action_mismatch":
        body, action = envelopes.signed(HOUSE, org=MC), "urn:exportHouseData"
    elif case == "schema_invalid":
        body = envelopes.signed(HOUSE.replace(b"<hm:FloorCount>9</hm:FloorCount>", b""), org=MC)
    elif case == "bad_version":
        body = envelopes.signed(HOUSE.replace(b'base:version="13.2.3.2"', b'base:version="9.9.9.9"'), org=MC)
    elif case == "unsigned":
        body = envelopes.wrap(HOUSE, org=MC)
    elif case == "foreign_certificate":
        body = envelopes.signed(HOUSE, org=MC, signer=HOA)
    elif case == "unknown_organisation":
        body = envelopes.signed(HOUSE, org=MC).replace(MC.encode(), b"11111111-2222-4333-8444-555555555555")
    elif case == "tampered":
        body = envelopes.signed(HOUSE, org=MC).replace(b"5400.5", b"5400.6")
    else:
        body, action = envelopes.get_state(str(uuid.uuid4()), org=MC), "urn:getState"
    response = post(server, body, action)
    assert response.status_code == 500
    assert fault_code(response) == code, response.text
    assert etree.fromstring(response.content).findtext(".//faultcode") == "soap:Client"
    assert stored(gateway) == 0


def test_an_oversized_body_is_refused_unread_with_413(gateway: Gateway) -> None:
    from dataclasses import replace

    small = replace(gateway.config, limits=replace(gateway.config.limits, max_body_bytes=1000))
    with EmbeddedServer(replace(gateway, config=small).app) as server:
        response = post(server, b"<x>" + b"a" * 2000 + b"</x>")
    assert response.status_code == 413 and fault_code(response) == "INT001001"


def test_wrong_method_and_unknown_paths(server: EmbeddedServer) -> None:
    assert requests.put(server.url + PATH, data=b"x", timeout=10).status_code == 405
    assert requests.get(server.url + "/nowhere", timeout=10).status_code == 404


def test_health_reports_database_and_queue(server: EmbeddedServer) -> None:
    health = requests.get(server.url + "/health", timeout=10).json()
    assert health["status"] == "ok" and health["database"] == "ok"


def test_metrics_count_requests_refusals_objects_and_read_the_queue(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    post(server, envelopes.signed(HOUSE, org=MC))
    post(server, envelopes.wrap(HOUSE, org=MC))  # unsigned: INT002001
    gateway.worker.drain()
    page = requests.get(server.url + "/metrics", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/plain")
    text = page.text
    assert 'gateway_requests_total{operation="importHouseUOData",outcome="accepted"}' in text
    assert 'gateway_refusals_total{code="INT002001"}' in text
    assert 'gateway_objects_processed_total{operation="importHouseUOData",result="ok"}' in text
    assert f'gateway_messages{{state="done"}} {SEED_MESSAGES + 1}.0' in text  # the house and the fixture's contracts
    assert "gateway_queue_lag_seconds 0.0" in text
    assert "gateway_ack_to_done_seconds_count" in text


def test_health_reports_the_queue_lag(server: EmbeddedServer, envelopes) -> None:  # type: ignore[no-untyped-def]
    post(server, envelopes.signed(HOUSE, org=MC))
    health = requests.get(server.url + "/health", timeout=10).json()
    # done: the fixture's contracts and charter
    assert health["messages"] == {"received": 1, "done": SEED_MESSAGES} and health["queue_lag_seconds"] >= 0


def test_invented_soap_actions_do_not_become_metrics_labels(server: EmbeddedServer) -> None:
    """Labels cost memory: a sender must not be able to mint new ones."""
    for n in range(3):
        post(server, b"<junk/>", action=f"urn:invented{n}")
    text = requests.get(server.url + "/metrics", timeout=10).text
    assert "invented" not in text
    assert 'gateway_requests_total{operation="other",outcome="refused"}' in text


def test_the_door_stores_the_envelope_once_and_the_worker_processes_what_the_signature_covers(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    """Revision 0019: no second copy of the signed element; the worker takes it from the envelope. A comment
    added after signing (outside what canonical XML without comments digests, so the signature still holds)
    splits a number: the worker must read the number the signature covers, not the comment."""
    from decimal import Decimal

    from gateway.registry.tables import houses

    signed = envelopes.signed(HOUSE, org=MC)
    assert signed.count(b">5400.5<") == 1
    commented = signed.replace(b">5400.5<", b">5400<!-- not signed -->.5<")
    response = post(server, commented)
    assert response.status_code == 200, response.text
    guid = etree.fromstring(response.content).findtext(f".//{BASE}Ack/{BASE}MessageGUID")
    with gateway.engine.connect() as connection:
        row = connection.execute(select(messages.c.request, messages.c.payload, messages.c.payload_sha256)
                                 .where(messages.c.guid == guid)).one()
    assert row.request == commented and row.payload == b"" and len(row.payload_sha256) == 64
    assert gateway.worker.drain() == 1
    with gateway.engine.connect() as connection:
        assert connection.execute(select(houses.c.total_square)).scalar() == Decimal("5400.5")
        assert connection.execute(select(messages.c.state).where(messages.c.guid == guid)).scalar() == "done"


def test_a_resend_signed_anew_is_a_resend_and_other_content_under_the_same_message_guid_is_refused(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    requester = str(uuid.uuid4())
    first = post(server, envelopes.signed(HOUSE, org=MC, message_guid=requester))
    again = post(server, envelopes.signed(HOUSE, org=MC, message_guid=requester))  # a new signature, same content
    assert first.status_code == again.status_code == 200
    ack = f".//{BASE}Ack/{BASE}MessageGUID"
    assert etree.fromstring(first.content).findtext(ack) == etree.fromstring(again.content).findtext(ack)
    other = post(server, envelopes.signed(HOUSE.replace(b"5400.5", b"5400.6"), org=MC, message_guid=requester))
    assert other.status_code == 500 and fault_code(other) == "INT003002"
    assert stored(gateway) == 1


@pytest.mark.parametrize("comment", [b"", b"<!-- before -->", b"<!-- a --><!-- b -->"])
def test_the_worker_takes_from_the_envelope_exactly_the_bytes_that_were_verified(
        envelopes, comment: bytes) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    from datetime import UTC, datetime

    from gateway.messages.queue import MessageState, StoredMessage
    from gateway.processing.operations import StoredMessageAltered, signed_content
    from gateway.soap import envelope
    from gateway.xmlparse import parse_untrusted

    signed = envelopes.signed(HOUSE, org=MC)
    # comments after the signature and inside the data: outside the digest, so the signature still verifies
    request = signed.replace(b"</ds:Signature>", b"</ds:Signature>" + comment, 1) \
        .replace(b">5400.5<", b">5400" + comment + b".5<")
    verified = verify(envelope.split(parse_untrusted(request)).body)

    def stored(request: bytes) -> StoredMessage:
        return StoredMessage(guid=Guid.new(), requester_message_guid=Guid.new(), org_guid=Guid.new(), service="x",
                             operation="importHouseUOData", state=MessageState.PROCESSING,
                             received_at=datetime.now(UTC), attempts=1, payload=b"", request=request,
                             payload_sha256=hashlib.sha256(verified.signed_element).hexdigest())

    element = signed_content(stored(request))
    assert etree.tostring(element, method="c14n", exclusive=True) == verified.signed_element
    assert element.find(f".//{HM}TotalSquare").text == "5400.5"
    altered = request.replace(b">5400", b">5401", 1)  # the stored envelope changed after acceptance
    with pytest.raises(StoredMessageAltered, match="SHA-256 differs"):
        signed_content(stored(altered))


def test_revision_0019_is_not_undone_while_messages_without_a_payload_wait(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from gateway.registry import db

    assert post(server, envelopes.signed(HOUSE, org=MC)).status_code == 200
    command.downgrade(db.alembic_config(gateway.engine), "0019")
    with pytest.raises(RuntimeError, match="waiting to be processed"):
        command.downgrade(db.alembic_config(gateway.engine), "0018")
    assert db.current_revision(gateway.engine) == "0019"
    assert gateway.worker.drain() == 1
    command.downgrade(db.alembic_config(gateway.engine), "0018")
    assert db.current_revision(gateway.engine) == "0018"
    db.upgrade(gateway.engine, "head")
