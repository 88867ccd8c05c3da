"""Replayed signed bodies (security finding 1): the RequestHeader is not signed, so an attacker who captured a
signed request can send it again under a new MessageGUID. The gateway must process it once, whatever the
encoding of the replayed signature and however many copies arrive at the same moment."""

from __future__ import annotations

import base64
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from sqlalchemy import event, func, select

from gateway.bootstrap import Gateway
from gateway.registry.tables import houses, signed_payloads
from gateway.soap.server import EmbeddedServer
from tests.integration.test_soap_endpoint import MC, PATH, fault_code, post, stored

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOUSE = (FIXTURES / "houses" / "sever-1.xml").read_bytes()
HOA_HOUSE = (FIXTURES / "houses" / "lipovaya-7.xml").read_bytes()
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
DS = "http://www.w3.org/2000/09/xmldsig#"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def with_message_guid(envelope: bytes, message_guid: str) -> bytes:
    """The captured envelope with a new MessageGUID in its (unsigned) header: what a replaying attacker sends."""
    root = etree.fromstring(envelope)
    root.find(f".//{{{BASE}}}RequestHeader/{{{BASE}}}MessageGUID").text = message_guid
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_signed_body_replayed_under_a_new_message_guid_is_refused_and_processed_once(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    captured = envelopes.signed(HOUSE, org=MC)
    assert post(server, captured).status_code == 200
    replay = post(server, with_message_guid(captured, str(uuid.uuid4())))
    assert replay.status_code == 500 and fault_code(replay) == "INT002010"
    assert stored(gateway) == 1
    gateway.worker.drain()
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(houses)).scalar() == 1


def test_a_replay_is_refused_without_deleting_from_messages(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    """The refused request's row goes with the door's rollback. A DELETE of a messages row makes PostgreSQL
    look for the key in every table referencing messages, meter_readings among them with no index on it: at
    1,000,000 stored readings each replay took 249 ms to refuse (an accept 12 ms), a cost an attacker holding
    one captured body could ask for at will."""
    captured = envelopes.signed(HOUSE, org=MC)
    assert post(server, captured).status_code == 200
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()).upper())

    event.listen(gateway.engine, "before_cursor_execute", seen)
    try:
        replay = post(server, with_message_guid(captured, str(uuid.uuid4())))
    finally:
        event.remove(gateway.engine, "before_cursor_execute", seen)
    assert fault_code(replay) == "INT002010"
    assert any(s.startswith("INSERT INTO MESSAGES") for s in statements), statements  # the door's path was taken
    assert not [s for s in statements if s.startswith("DELETE")], statements
    assert stored(gateway) == 1
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(signed_payloads)).scalar() == 1


def test_resending_the_original_message_guid_is_still_answered_with_its_ack(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    captured = envelopes.signed(HOUSE, org=MC)
    first, again = post(server, captured), post(server, captured)
    assert first.status_code == again.status_code == 200
    assert stored(gateway) == 1


def test_a_replay_with_the_signature_value_re_encoded_is_still_a_replay(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    captured = envelopes.signed(HOUSE, org=MC)
    assert post(server, captured).status_code == 200
    root = etree.fromstring(with_message_guid(captured, str(uuid.uuid4())))
    value = root.find(f".//{{{DS}}}SignatureValue")
    text = "".join(value.text.split())
    value.text = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))  # base64 with line breaks verifies
    replay = post(server, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    assert fault_code(replay) == "INT002010"
    assert stored(gateway) == 1


def test_an_ecdsa_signature_made_malleable_is_still_a_replay(
        server: EmbeddedServer, gateway: Gateway, envelopes, pki) -> None:  # type: ignore[no-untyped-def]
    """(r, s) and (r, n − s) are both valid ECDSA signatures of the same SignedInfo: a replay key over the
    signature value would let the second one in."""
    assert isinstance(pki.by_org[HOA].key, ec.EllipticCurvePrivateKey)
    captured = envelopes.signed(HOA_HOUSE, org=HOA)
    assert post(server, captured).status_code == 200
    root = etree.fromstring(with_message_guid(captured, str(uuid.uuid4())))
    value = root.find(f".//{{{DS}}}SignatureValue")
    raw = base64.b64decode(value.text)
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    value.text = base64.b64encode(r + (P256_ORDER - s).to_bytes(32, "big")).decode()
    replay = post(server, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    assert fault_code(replay) == "INT002010"
    assert stored(gateway) == 1


def test_concurrent_replays_of_one_body_are_accepted_exactly_once(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    captured = envelopes.signed(HOUSE, org=MC)
    copies = [with_message_guid(captured, str(uuid.uuid4())) for _ in range(8)]
    with requests.Session() as session, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: session.post(
            server.url + PATH, data=body, timeout=30,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:importHouseUOData"'}), copies))
    accepted = [a for a in answers if a.status_code == 200]
    assert len(accepted) == 1, [fault_code(a) for a in answers if a.status_code != 200]
    assert sorted(fault_code(a) for a in answers if a.status_code != 200) == ["INT002010"] * 7
    assert stored(gateway) == 1


def test_a_new_signature_of_the_same_content_is_not_a_replay(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    """The provider signing the same data again (a new signing act, new SigningTime and signature Id) sends a
    new request; the registry's own rules then decide (here: the house is already registered)."""
    assert post(server, envelopes.signed(HOUSE, org=MC)).status_code == 200
    assert post(server, envelopes.signed(HOUSE, org=MC)).status_code == 200
    assert stored(gateway) == 2


def test_replay_keys_are_kept_until_the_certificate_expires(
        server: EmbeddedServer, gateway: Gateway, envelopes, pki) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from gateway.messages import queue

    assert post(server, envelopes.signed(HOUSE, org=MC)).status_code == 200
    expires = pki.by_org[MC].cert.not_valid_after_utc
    with gateway.engine.begin() as connection:
        (kept,) = connection.execute(select(signed_payloads.c.keep_until)).scalars().all()
        assert kept == expires
        assert queue.purge_replay_keys(connection, now=expires - timedelta(seconds=1)) == 0
        assert queue.purge_replay_keys(connection, now=expires + timedelta(seconds=1)) == 1
