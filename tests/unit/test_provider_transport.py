"""The toolkit's HTTP: what is retried (connection errors, 502/503/504) resends the same bytes; a fault is not retried.

A real HTTP server on 127.0.0.1 plays a balancer that is briefly overloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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


def _tls_pki(directory: Path) -> dict[str, Path]:
    """A TEST-ONLY CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def issue(name: str, issuer: tuple[ec.EllipticCurvePrivateKey, x509.Name] | None, *, ca: bool = False,
              usage: ExtendedKeyUsageOID | None = None, ip: bool = False) -> tuple[ec.EllipticCurvePrivateKey,
                                                                                     x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST-ONLY {name}")])
        signer, issuer_name = issuer or (key, subject)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if usage is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if ip:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return key, builder.sign(signer, hashes.SHA256())

    ca_key, ca = issue("TLS CA", None, ca=True)
    files: dict[str, Path] = {}
    for name, (key, cert) in {"ca": (ca_key, ca),
                              "server": issue("server", (ca_key, ca.subject), usage=ExtendedKeyUsageOID.SERVER_AUTH,
                                              ip=True),
                              "client": issue("client", (ca_key, ca.subject),
                                              usage=ExtendedKeyUsageOID.CLIENT_AUTH)}.items():
        files[f"{name}.pem"] = directory / f"{name}.pem"
        files[f"{name}.pem"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{name}.key"] = directory / f"{name}.key"
        files[f"{name}.key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    return files


def test_a_gateway_that_asks_for_a_tls_client_certificate_gets_the_configured_one(tmp_path: Path) -> None:
    import ssl

    pki = _tls_pki(tmp_path)
    server = Recorder([])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server.pem"], pki["server.key"])
    context.load_verify_locations(pki["ca.pem"])
    context.verify_mode = ssl.CERT_REQUIRED  # as GIS ZhKKh's front does
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_port}/x"
    try:
        with_cert = Transport(TransportSettings(retries=0, verify=pki["ca.pem"], client_cert=pki["client.pem"],
                                                client_key=pki["client.key"]))
        without = Transport(TransportSettings(retries=0, verify=pki["ca.pem"]))

        assert with_cert.post(url, b"<x/>", action="urn:op") == (200, b"<answer/>")
        with pytest.raises(Unreachable):
            without.post(url, b"<x/>", action="urn:op")
    finally:
        server.shutdown()
        server.server_close()
    assert server.bodies == [b"<x/>"]
