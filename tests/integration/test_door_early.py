"""The door's database steps started while the signature is verified (``gateway.soap.admission``): on
PostgreSQL a thread of the door's pool looks the sender up and stores the message's row before the request
thread has checked the schema or the signature. What that must never change: the order of the refusals, and
that nothing of a refused request stays stored or blocks its MessageGUID."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from gateway.bootstrap import Gateway
from gateway.soap import admission
from gateway.soap.server import EmbeddedServer
from tests.integration.test_soap_endpoint import HOA, MC, fault_code, post, stored

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOUSE = (FIXTURES / "houses" / "sever-1.xml").read_bytes()
HOA_HOUSE = (FIXTURES / "houses" / "lipovaya-7.xml").read_bytes()
NOBODY = b"11111111-2222-4333-8444-555555555555"


@contextmanager
def statements(gateway: Gateway) -> Iterator[list[tuple[str, str]]]:
    """(thread name, statement's first words) of every statement the gateway's engine runs meanwhile."""
    seen: list[tuple[str, str]] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append((threading.current_thread().name, " ".join(statement.split()[:3]).upper()))

    event.listen(gateway.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(gateway.engine, "before_cursor_execute", record)


def _row_stored_by(seen: list[tuple[str, str]]) -> list[str]:
    return [thread for thread, words in seen if words.startswith("INSERT INTO MESSAGES")]


@pytest.mark.parametrize("org, house, early_row", [
    (HOA, HOA_HOUSE, True),  # ECDSA with a SHA-256 reference: the row is stored with the digest it claims
    (MC, HOUSE, False),  # GOST, a Streebog-256 reference: the SHA-256 is known once the element is canonical
])
def test_on_postgresql_the_doors_pool_starts_the_database_steps_and_on_sqlite_the_request_takes_them(
        server: EmbeddedServer, gateway: Gateway, envelopes, org: str, house: bytes,  # type: ignore[no-untyped-def]
        early_row: bool) -> None:
    with statements(gateway) as seen:
        response = post(server, envelopes.signed(house, org=org))
    assert response.status_code == 200, response.text
    postgres = gateway.engine.dialect.name == "postgresql"
    by_door = {words: thread.startswith("door") for thread, words in seen}
    assert by_door["SELECT ORGANISATIONS.GUID, ORGANISATIONS.NAME,"] is postgres, seen
    assert by_door["INSERT INTO MESSAGES"] is (postgres and early_row), seen
    # the replay key and the archive entry follow the verification, in the request's own thread
    assert not by_door["INSERT INTO SIGNED_PAYLOADS"] and not by_door["INSERT INTO ARCHIVE"], seen
    assert len(_row_stored_by(seen)) == 1 and stored(gateway) == 1


def test_an_envelope_over_the_early_rows_limit_is_stored_by_the_request_thread_once_verified(
        server: EmbeddedServer, gateway: Gateway, envelopes,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A certificate is no secret: a forged body under a registered one must not make the database write (and
    roll back) an envelope of any size. Over the limit, the thread takes the look-ups and the verified request
    thread the row; a tampered one is refused with no row written at all."""
    monkeypatch.setattr(admission, "EARLY_ROW_MAX_BYTES", len(HOA_HOUSE) // 2)
    tampered = envelopes.signed(HOA_HOUSE, org=HOA).replace(b"3120.8", b"3120.9")
    with statements(gateway) as seen:
        refused = post(server, tampered)
    assert refused.status_code == 500 and fault_code(refused) == "INT002002", refused.text
    assert not _row_stored_by(seen), seen
    with statements(gateway) as seen:
        accepted = post(server, envelopes.signed(HOA_HOUSE, org=HOA))
    assert accepted.status_code == 200, accepted.text
    by_door = {words: thread.startswith("door") for thread, words in seen}
    assert by_door["SELECT ORGANISATIONS.GUID, ORGANISATIONS.NAME,"] is (gateway.engine.dialect.name == "postgresql")
    assert _row_stored_by(seen) and not any(t.startswith("door") for t in _row_stored_by(seen)), seen
    assert stored(gateway) == 1


def test_a_tampered_body_under_its_registered_certificate_leaves_no_row_and_its_message_guid_free(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    message_guid = str(uuid.uuid4())
    tampered = envelopes.signed(HOA_HOUSE, org=HOA, message_guid=message_guid).replace(b"3120.8", b"3120.9")
    with statements(gateway) as seen:
        refused = post(server, tampered)
    assert refused.status_code == 500 and fault_code(refused) == "INT002002", refused.text
    if gateway.engine.dialect.name == "postgresql":  # the row was stored early, then rolled back
        assert _row_stored_by(seen), seen
    assert stored(gateway) == 0
    # the same MessageGUID, now signed properly: a new message, not a reuse of the refused one
    accepted = post(server, envelopes.signed(HOA_HOUSE, org=HOA, message_guid=message_guid))
    assert accepted.status_code == 200, accepted.text
    assert stored(gateway) == 1


def test_the_schema_and_the_signature_are_refused_before_what_the_database_found(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    """The early thread finds the unknown organisation or the foreign certificate first; the answer is still
    the schema's or the signature's, as the door checks them first."""
    schema_invalid = envelopes.signed(HOUSE.replace(b"<hm:FloorCount>9</hm:FloorCount>", b""), org=MC)
    cases = [
        ("INT001007", schema_invalid.replace(MC.encode(), NOBODY)),  # invalid, from an unknown organisation
        ("INT002002", envelopes.signed(HOUSE, org=MC).replace(b"5400.5", b"5400.6").replace(MC.encode(), NOBODY)),
        ("INT002002", envelopes.signed(HOUSE, org=MC, signer=HOA).replace(b"5400.5", b"5400.6")),  # foreign cert
        ("INT002002", envelopes.signed(HOA_HOUSE, org=HOA).replace(b"3120.8", b"3120.9").replace(HOA.encode(),
                                                                                                NOBODY)),
        ("INT002007", envelopes.signed(HOUSE, org=MC, signer=HOA)),  # then the certificate's binding
        ("INT002009", envelopes.signed(HOUSE, org=MC).replace(MC.encode(), NOBODY)),  # then the organisation
    ]
    for code, body in cases:
        response = post(server, body)
        assert response.status_code == 500 and fault_code(response) == code, (code, response.text)
    assert stored(gateway) == 0


def test_more_concurrent_requests_than_the_doors_threads_are_all_accepted(
        server: EmbeddedServer, gateway: Gateway, envelopes) -> None:  # type: ignore[no-untyped-def]
    """Twelve senders at once against a pool of five threads (and five connections): the requests whose early
    steps wait for a thread wait, none is lost or refused, none holds a connection another waits for."""
    bodies = [envelopes.signed(HOUSE, org=MC) for _ in range(12)]
    with ThreadPoolExecutor(12) as senders:
        responses = list(senders.map(lambda body: post(server, body), bodies))
    assert [r.status_code for r in responses] == [200] * 12, [r.text[:200] for r in responses if r.status_code != 200]
    assert stored(gateway) == 12


def test_a_fault_of_the_early_thread_superseded_by_a_refusal_is_logged_and_the_refusal_answered(
        server: EmbeddedServer, gateway: Gateway, envelopes,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    if gateway.engine.dialect.name != "postgresql":
        pytest.skip("the early thread runs on PostgreSQL only")

    def broken(*_args: object) -> None:
        raise RuntimeError("connection lost while looking the sender up")

    monkeypatch.setattr(admission, "admit", broken)
    tampered = envelopes.signed(HOA_HOUSE, org=HOA).replace(b"3120.8", b"3120.9")
    with caplog.at_level("WARNING", logger="gateway.soap.admission"):
        refused = post(server, tampered)
    assert refused.status_code == 500 and fault_code(refused) == "INT002002", refused.text
    assert any("event=door_thread_fault_superseded error=RuntimeError" in r.getMessage() for r in caplog.records)
    assert stored(gateway) == 0
