"""The toolkit's HTTP: what is retried (connection errors, 502/503/504) resends the same bytes; a fault is not retried.

A real HTTP server on 127.0.0.1 plays a balancer that is briefly overloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from providers.polling import OFFICIAL, PollSchedule
from providers.transport import Transport, TransportSettings, Unreachable


class Recorder(ThreadingHTTPServer):
    def __init__(self, answers: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.answers, self.bodies = answers, []  # type: list[int], list[bytes]


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.server.answers.pop(0) if self.server.answers else 200
        body = b"<answer/>"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    server = Recorder(list(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def transport(retries: int = 3) -> Transport:
    return Transport(TransportSettings(connect_timeout=2, read_timeout=5, retries=retries, backoff=0.01))


@pytest.mark.parametrize("recorder", [[503, 502, 504]], indirect=True)
def test_an_overloaded_gateway_gets_the_same_bytes_again_until_it_answers(recorder: Recorder) -> None:
    signed = b"<soapenv:Envelope>signed once, MessageGUID fixed</soapenv:Envelope>"

    status, body = transport().post(f"http://127.0.0.1:{recorder.server_port}/x", signed, action="urn:op")

    assert (status, body) == (200, b"<answer/>")
    assert recorder.bodies == [signed] * 4


@pytest.mark.parametrize("recorder", [[500]], indirect=True)
def test_a_soap_fault_is_an_answer_not_a_reason_to_retry(recorder: Recorder) -> None:
    status, _ = transport().post(f"http://127.0.0.1:{recorder.server_port}/x", b"<x/>", action="urn:op")

    assert status == 500 and len(recorder.bodies) == 1


def test_a_gateway_nobody_listens_for_is_unreachable_after_the_retries() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(Unreachable, match="after 2 retries"):
        transport(retries=2).post(f"http://127.0.0.1:{port}/x", b"<x/>", action="urn:op")


def test_polling_follows_the_official_guidance_unless_configured() -> None:
    assert [OFFICIAL.delay(n) for n in range(7)] == [10, 60, 300, 900, 1800, 1800, 1800]
    fast = PollSchedule(first=0.05, intervals=(0.1,))
    assert [fast.delay(n) for n in range(3)] == [0.05, 0.1, 0.1]
    with pytest.raises(ValueError):
        PollSchedule(intervals=())


def test_the_sdk_polls_by_the_official_schedule_by_default() -> None:
    from gateway.signing import keys
    from providers.client import ProviderClient

    issued = keys.issue_test_certificate(keys.issue_test_ca(), org_name="x", ogrn="1027700999017", inn="7709990015")
    client = ProviderClient("http://127.0.0.1:9", org_guid="x", key=issued.key, cert=issued.cert, gateway_cert=None)

    assert client.polling == OFFICIAL
