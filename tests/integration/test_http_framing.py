"""Each class of hostile HTTP or SOAP framing, sent over raw sockets to the embedded server and to `gateway serve`,
gets the code and status the README's "Framing decisions" table says — and that table lists nothing untested.

Raw sockets, because an HTTP client library normalises exactly what these requests get wrong (lengths,
duplicate headers, half-sent bodies).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import bootstrap, nsifile
from gateway.config import Config, DatabaseConfig, ServerConfig
from gateway.signing import Signer, keys
from gateway.soap.server import EmbeddedServer
from tests.conftest import TEST_SETUP, Envelopes, post_documents
from tests.integration.serving import MC, PATH, Answer, exchange, fresh_house, gateway_serve, parse_answer

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TIMEOUT = 1.5  # server.header_timeout and server.body_timeout of both servers here
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def http(body: bytes, *, content_type: str | None = "text/xml; charset=utf-8",
         action: str | None = '"urn:importHouseUOData"', length: str | None = "auto", extra: str = "",
         method: str = "POST", target: str = PATH, host: bool = True) -> bytes:
    """A request as raw bytes; every header is exactly what the case writes (``None`` leaves it out)."""
    lines = [f"{method} {target} HTTP/1.1"] + (["Host: 127.0.0.1"] if host else []) + ["Connection: close"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if action is not None:
        lines.append(f"SOAPAction: {action}")
    if length is not None:
        lines.append(f"Content-Length: {len(body) if length == 'auto' else length}")
    lines += [line for line in extra.split("\n") if line]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(body: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:])) + b"0\r\n\r\n"


def envelope_with(inside_header: str = "", after_body: str = "", before: str = "", body: str | None = None) -> bytes:
    request_header = ('<base:RequestHeader><base:Date>2026-11-23T12:00:00+03:00</base:Date><base:MessageGUID>'
                      f'8f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f</base:MessageGUID><base:orgPPAGUID>{MC}</base:orgPPAGUID>'
                      '</base:RequestHeader>')
    body = body if body is not None else ('<base:getStateRequest><base:MessageGUID>'
                                          '1f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f</base:MessageGUID></base:getStateRequest>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>{before}<s:Envelope xmlns:s="{SOAP11}" '
            f'xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/"><s:Header>{request_header}{inside_header}'
            f'</s:Header><s:Body>{body}</s:Body>{after_body}</s:Envelope>').encode()


def get_state(body: bytes, **options: str | None) -> bytes:
    return http(body, action='"urn:getState"', **options)  # type: ignore[arg-type]


def utf16(message: bytes) -> bytes:
    return message.decode("utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'", 1).encode("utf-16")


@dataclass(frozen=True)
class Case:
    key: str  # the row of the README's "Framing decisions" table
    name: str
    request: Callable[[Envelopes], bytes]
    code: str | None  # None: accepted, answered with an Ack
    status: int
    half_close: bool = False  # send, then end the sending side (a body that stops short)
    stall: bool = False  # send, then nothing more while the connection stays open


DOCTYPE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
BOMB = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>')

CASES = [
    # the SOAP 1.1 HTTP binding
    Case("media-type", "json", lambda e: http(b'{"importHouseUORequest": {}}', content_type="application/json"),
         "INT001011", 415),
    Case("media-type", "soap12-media-type", lambda e: http(
        fresh_house(e), content_type='application/soap+xml; charset=utf-8; action="urn:importHouseUOData"'),
         "INT001011", 415),
    Case("media-type", "form", lambda e: http(b"a=1&b=2", content_type="application/x-www-form-urlencoded"),
         "INT001011", 415),
    Case("media-type", "no-content-type", lambda e: http(fresh_house(e), content_type=None), "INT001011", 415),
    Case("charset", "latin-1-charset", lambda e: http(fresh_house(e), content_type="text/xml; charset=iso-8859-1"),
         "INT001011", 415),
    Case("soapaction-missing", "no-soapaction", lambda e: http(fresh_house(e), action=None), "INT001012", 400),
    Case("soapaction-mismatch", "other-operation", lambda e: http(fresh_house(e), action='"urn:exportHouseData"'),
         "INT001005", 500),
    Case("soapaction-unquoted", "unquoted", lambda e: http(fresh_house(e), action="urn:importHouseUOData"),
         None, 200),
    Case("plain-text-xml", "no-charset", lambda e: http(fresh_house(e), content_type="text/xml"), None, 200),
    # HTTP/1.1 message framing
    Case("length-invalid", "negative", lambda e: http(b"<x/>", length="-5"), "INT001013", 400),
    Case("length-invalid", "not-a-number", lambda e: http(b"<x/>", length="4x"), "INT001013", 400),
    Case("length-invalid", "list-of-two", lambda e: http(b"<x/>", length="4, 5"), "INT001013", 400),
    Case("length-conflicting", "two-headers", lambda e: http(b"<x/>x", extra="Content-Length: 4"),
         "INT001013", 400),
    Case("length-repeated", "same-twice", lambda e: (lambda m: http(m, extra=f"Content-Length: {len(m)}"))(
        fresh_house(e)), None, 200),
    Case("te-and-length", "smuggling-shape", lambda e: http(chunked(b"<x/>" * 40), extra="Transfer-Encoding: chunked"),
         "INT001013", 400),
    Case("chunked", "chunked-body", lambda e: http(chunked(fresh_house(e)), length=None,
                                                   extra="Transfer-Encoding: chunked"), None, 200),
    Case("transfer-coding-unknown", "gzip", lambda e: http(b"\x1f\x8b", length=None, extra="Transfer-Encoding: gzip"),
         "INT001013", 501),
    Case("body-short", "eof-before-length", lambda e: http(b"<s:Envelope", length="500"), "INT001014", 400,
         half_close=True),
    Case("body-short", "eof-before-last-chunk", lambda e: http(b"40\r\n<s:Envelope", length=None,
                                                               extra="Transfer-Encoding: chunked"),
         "INT001014", 400, half_close=True),
    Case("body-too-large", "declared-over-limit", lambda e: http(b"", length=str(20 * 1024 * 1024)), "INT001001", 413),
    Case("request-line", "garbage", lambda e: b"HELLO THERE\r\n\r\n", "INT001013", 400),
    Case("request-line", "no-host", lambda e: http(b"<x/>", host=False), "INT001013", 400),
    Case("header-too-large", "40-kib-header", lambda e: http(b"<x/>", extra="X-Padding: " + "a" * 40_000),
         "INT001013", 431),
    Case("header-timeout", "half-a-request-line", lambda e: b"POST /ext-bus-home-", "INT001015", 408, stall=True),
    Case("body-timeout", "half-a-body", lambda e: http(b"<s:Envelope", length="500"), "INT001015", 408, stall=True),
    Case("method", "put", lambda e: http(b"<x/>", method="PUT"), "INT001010", 405),
    # XML and the envelope
    Case("doctype", "xxe", lambda e: get_state(DOCTYPE), "INT001003", 500),
    Case("doctype", "entity-expansion", lambda e: get_state(BOMB), "INT001003", 500),
    Case("processing-instruction", "before-envelope", lambda e: get_state(
        envelope_with(before="<?xml-stylesheet href='x'?>")), "INT001003", 500),
    Case("processing-instruction", "inside-header", lambda e: get_state(envelope_with(inside_header="<?php x?>")),
         "INT001003", 500),
    Case("malformed", "unclosed", lambda e: get_state(b"<s:Envelope xmlns:s='%s'><s:Body>" % SOAP11.encode()),
         "INT001002", 500),
    Case("malformed", "nesting-300-deep", lambda e: get_state(b"<a>" * 300 + b"</a>" * 300), "INT001002", 500),
    Case("not-envelope", "other-root", lambda e: get_state(b"<getStateRequest/>"), "INT001004", 500),
    Case("not-envelope", "soap12-namespace", lambda e: get_state(envelope_with().replace(
        SOAP11.encode(), b"http://www.w3.org/2003/05/soap-envelope")), "INT001004", 500),
    Case("envelope-shape", "element-after-body", lambda e: get_state(envelope_with(after_body="<s:Body/>")),
         "INT001004", 500),
    Case("envelope-shape", "two-request-elements", lambda e: get_state(envelope_with(
        body="<base:getStateRequest/><base:getStateRequest/>")), "INT001004", 500),
    Case("request-header", "second-request-header", lambda e: get_state(envelope_with(
        inside_header="<base:RequestHeader/>")), "INT001006", 500),
    Case("encoding-utf16", "utf-16-with-bom", lambda e: http(utf16(fresh_house(e)),
                                                             content_type="text/xml; charset=utf-16"), None, 200),
    Case("encoding-utf16", "utf-8-with-bom", lambda e: http(b"\xef\xbb\xbf" + fresh_house(e)), None, 200),
    Case("encoding-other", "utf-32", lambda e: get_state(envelope_with().decode().replace(
        "UTF-8", "UTF-32").encode("utf-32"), content_type="text/xml"), "INT001016", 500),
    Case("encoding-other", "windows-1251", lambda e: get_state(envelope_with().replace(
        b"UTF-8", b"windows-1251"), content_type="text/xml"), "INT001016", 500),
    Case("encoding-mismatch", "utf-16-labelled-utf-8", lambda e: http(utf16(fresh_house(e))), "INT001016", 500),
]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, org_entries, pki) -> Iterator[bootstrap.Gateway]:  # type: ignore[no-untyped-def]
    """A SQLite registry with the fixture organisations (the framing does not depend on the database)."""
    folder = tmp_path_factory.mktemp("framing")
    config = Config(database=DatabaseConfig(url=f"sqlite:///{folder / 'gateway.sqlite3'}"),
                    server=ServerConfig(header_timeout=TIMEOUT, body_timeout=TIMEOUT))
    built = bootstrap.build(config, upgrade=True, signer=Signer(pki.gateway.key, pki.gateway.cert))
    with built.unit_of_work(TEST_SETUP) as uow:
        for entry in org_entries:
            uow.organisations.add(entry.organisation)
            uow.organisations.register_certificate(entry.organisation.guid,
                                                   keys.describe(pki.by_org[str(entry.organisation.guid)].cert))
        uow.commit()
    nsifile.load(built.unit_of_work(TEST_SETUP), [ROOT / "fixtures" / "nsi"], datetime.now(UTC))
    post_documents(built, org_entries)
    yield built
    built.engine.dispose()


@pytest.fixture(scope="module")
def embedded(deployment: bootstrap.Gateway) -> Iterator[int]:
    with EmbeddedServer(deployment.app) as server:
        yield int(server.url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def production(deployment: bootstrap.Gateway, pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:  # type: ignore[no-untyped-def]
    with gateway_serve(deployment, pki, tmp_path_factory.mktemp("serve"), header_timeout=str(TIMEOUT),
                       body_timeout=str(TIMEOUT)) as served:
        yield served.port


def send(port: int, case: Case, envelopes: Envelopes) -> Answer:
    request = case.request(envelopes)
    if not case.stall:
        return exchange(port, request, half_close=case.half_close)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT * 4 + 10) as stalled:
        started = time.monotonic()
        stalled.sendall(request)
        received = b""
        while chunk := stalled.recv(65536):
            received += chunk
        assert time.monotonic() - started >= TIMEOUT * 0.9  # dropped by the timeout, not before it
    return parse_answer(received)


@pytest.mark.parametrize("server", ["embedded", "production"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.key}:{c.name}" for c in CASES])
def test_each_hostile_framing_gets_its_documented_code_from_both_servers(
        case: Case, server: str, request: pytest.FixtureRequest, envelopes: Envelopes) -> None:
    port = request.getfixturevalue(server)
    answer = send(port, case, envelopes)
    assert answer.status == case.status, answer.body[:400]
    assert answer.headers["content-type"].startswith("text/xml"), answer.headers
    if case.code is None:
        assert answer.acknowledged, answer.body[:400]
    else:
        assert answer.code == case.code, answer.body[:400]


def framing_decisions() -> dict[str, tuple[str, str]]:
    """``key → (code or —, HTTP status)`` from the README's "Framing decisions" table."""
    section = README[README.index("### Framing decisions"):]
    section = section[:section.index("\n\n", section.index("|"))]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| [^|]+ \| (INT\d{6}|—) \| (\d{3}) \|$", section, flags=re.MULTILINE)
    return {key: (code, status) for key, code, status in rows}


def error_table() -> dict[str, tuple[str, str]]:
    rows = re.findall(r"^\| ((?:INT|SRV)\d{6}) \| (\w+) \| ([^|]+) \| ([^|]+) \|$", README, flags=re.MULTILINE)
    return {code: (where.strip(), meaning.strip()) for code, _, where, meaning in rows}


def test_the_readme_documents_every_framing_decision_these_tests_make_and_no_other() -> None:
    documented = framing_decisions()
    tested = {case.key: (case.code or "—", str(case.status)) for case in CASES}
    assert documented == tested
    assert len({(c.key, c.code, c.status) for c in CASES}) == len(tested)  # one answer per class


def test_every_code_the_framing_tests_expect_is_in_the_error_table_with_its_status() -> None:
    table = error_table()
    for case in CASES:
        if case.code is None:
            continue
        where, _ = table[case.code]
        assert where.startswith("fault"), (case.code, where)
        if case.status != 500:
            assert str(case.status) in where, (case.code, case.status, where)
        else:
            assert "HTTP" not in where, (case.code, where)  # "fault" alone means HTTP 500, soap:Client


def test_a_short_body_is_refused_even_behind_another_wsgi_server(deployment: bootstrap.Gateway) -> None:
    """The app itself checks the length (a WSGI server other than the front may hand it a short stream)."""
    import io

    captured: dict[str, str] = {}
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": PATH, "CONTENT_TYPE": "text/xml", "CONTENT_LENGTH": "500",
               "HTTP_SOAPACTION": '"urn:getState"', "wsgi.input": io.BytesIO(b"<s:Envelope")}
    body = deployment.app(environ, lambda status, headers: captured.update(status=status))
    assert captured["status"].startswith("400") and b"INT001014" in b"".join(body)


def test_the_production_front_still_serves_wsdl_schemas_health_and_metrics(production: int) -> None:
    import requests
    from lxml import etree

    url = f"http://127.0.0.1:{production}"
    refused = requests.post(url + PATH, data=b"{}", headers={"Content-Type": "application/json"}, timeout=30)
    wsdl = requests.get(url + PATH + "?wsdl", timeout=30)
    schema = requests.get(url + "/ext-bus-home-management-service/lib/hcs-base.xsd", timeout=30)
    health = requests.get(url + "/health", timeout=30)
    metrics = requests.get(url + "/metrics", timeout=30)
    assert refused.status_code == 415
    address = etree.fromstring(wsdl.content).find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert wsdl.status_code == 200 and address.get("location") == url + PATH
    assert schema.status_code == 200 and b"RequestHeader" in schema.content
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert metrics.status_code == 200 and 'gateway_refusals_total{code="INT001011"}' in metrics.text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(min_size=1, max_size=300),
                 st.text(alphabet="POST /\r\n:HTTP1.0-Content-Length: chunked\x00 -5x", min_size=1, max_size=200)
                 .map(lambda text: text.encode("latin-1"))))
def test_whatever_bytes_arrive_the_front_answers_with_a_status_and_faults_are_soap(embedded: int, data: bytes) -> None:
    """Never a crash, a hang or a bare page: an HTTP answer, and every refusal a SOAP 1.1 Fault with a code."""
    answer = exchange(embedded, data, half_close=True, timeout=10)
    if answer.status == 404:  # a well-formed request for a path the gateway does not serve
        return
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.code is not None and answer.code.startswith("INT")
