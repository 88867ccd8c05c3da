"""The accept path per signature algorithm against its floor, in-process and over HTTP.

One signed importMeteringDeviceValues message of 1,000 readings per algorithm (RSA-2048, ECDSA P-256, GOST R
34.10-2012 256), the sender's three certificates registered. Floor: what any receiver must do with the bytes —
lxml parse (hardened), XSD validation, the XAdES verification (canonicalisation, digests, one public-key
operation). Accept: the whole door up to the Ack — framing, header, signature, certificate and authority
checks, the replay key, the stored message and its archive entry — called as a WSGI application in-process,
then the same over HTTP to the embedded server. Interleaved (floor, in-process, HTTP per round), medians.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from benchmarks.load import _houses, _signed, deploy, envelope
from benchmarks.readings import PATH, SOAP, _devices, readings_body
from benchmarks.setup import BENCH_SETUP
from gateway.config import DatabaseConfig
from gateway.signing import keys, verify
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate

ROUNDS = 9
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:importMeteringDeviceValues"}


def floor(message: bytes) -> float:
    started = time.perf_counter()
    body = parse_untrusted(message).find(f"{{{SOAP}}}Body")[0]
    validate(body, Service.DEVICE_METERING)
    verify(body)
    return time.perf_counter() - started


def in_process(app: Callable[..., Any], message: bytes) -> float:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": PATH, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "0",
               "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": HEADERS["Content-Type"],
               "CONTENT_LENGTH": str(len(message)), "HTTP_SOAPACTION": HEADERS["SOAPAction"],
               "wsgi.input": io.BytesIO(message), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO()}
    status: list[str] = []
    started = time.perf_counter()
    answer = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    elapsed = time.perf_counter() - started
    assert status[0].startswith("200") and b"AckRequest" in answer, (status, answer[:300])
    return elapsed


def run(label: str, database: DatabaseConfig, scratch: Path) -> None:
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    ca = keys.issue_test_ca()
    issued = {"gost": deployment.provider}
    mc = gateway.unit_of_work(BENCH_SETUP)
    with mc as uow:
        sender = uow.organisations.get(org)
        assert sender is not None
        for algorithm in ("rsa", "ecdsa"):
            issued[algorithm] = keys.issue_test_certificate(ca, org_name=sender.name, ogrn=str(sender.ogrn),
                                                            inn=str(sender.inn), algorithm=algorithm)
            uow.organisations.register_certificate(org, keys.describe(issued[algorithm].cert))
        uow.commit()
    roots = _devices(gateway, org, _houses(gateway, org, 1, 1000))[0]
    session = requests.Session()
    print(f"{label:<9} accept path, importMeteringDeviceValues of 1,000 readings, median of {ROUNDS} "
          "(floor = parse + XSD + XAdES verification):")
    with EmbeddedServer(gateway.app) as server:
        for algorithm in ("rsa", "ecdsa", "gost"):
            floors, local, remote = [], [], []
            for n in range(ROUNDS + 1):
                # a message of its own each time: the same signed body twice is a replay (INT002010)
                fresh = [envelope(_signed(readings_body(roots, 1 + n % 12), issued[algorithm]), str(org))
                         for _ in range(2)]
                f = floor(fresh[0])
                i = in_process(gateway.app, fresh[0])
                t = time.perf_counter()
                response = session.post(server.url + PATH, data=fresh[1], headers=HEADERS, timeout=60)
                h = time.perf_counter() - t
                assert response.status_code == 200, response.text[:300]
                if n:  # the first round warms the schema, the certificate cache and the plans
                    floors.append(f)
                    local.append(i)
                    remote.append(h)
            fl, lo, re_ = (statistics.median(x) for x in (floors, local, remote))
            print(f"  {algorithm:<6} floor {fl * 1000:6.1f} ms | in-process {lo * 1000:6.1f} ms ({lo / fl:4.2f}x) | "
                  f"over HTTP {re_ * 1000:6.1f} ms ({re_ / fl:4.2f}x)   (target 1.5x)")
    gateway.engine.dispose()
