"""The accept path per signature algorithm against its floor, in-process and over HTTP.

One signed importMeteringDeviceValues message of 1,000 readings per algorithm (RSA-2048, ECDSA P-256, GOST R
34.10-2012 256), the sender's three certificates registered. Floor: what any receiver must do with the bytes —
lxml parse (hardened), XSD validation, the XAdES verification (canonicalisation, digests, one public-key
operation). Accept: the whole door up to the Ack — framing, header, signature, certificate and authority
checks, the replay key, the stored message and its archive entry — called as a WSGI application in-process,
then the same over HTTP to the embedded server — posted by a sender in a process of its own, as a provider's
system is (``_sender``: http.client, one kept-alive connection), and, for comparison with earlier runs, by
requests from this process, where the client's own Python shares the server's interpreter lock. Interleaved
(floor, in-process, HTTP from the sender's process, HTTP from this one, the front alone, per round), medians.

The front alone (``Holder``): the same bytes, the same front and sender process, to an application that reads the
body, holds the interpreter as long as that round's in-process accept took, and answers an Ack-sized body; what
the sender waits beyond the hold is what HTTP costs an accept of that length on this machine, with no door work
in it. It grows with the hold (0.8 ms for a 0.5 MB body answered at once, 1.8 ms after a 15 ms hold, measured
2026-12-04): while the application runs, the front's loop thread and the sender sleep, and on this virtual
machine a core left idle that long takes a few tenths of a millisecond to wake for each of the hand-offs. The
holder keeps the interpreter throughout; the door leaves it during libxml2's work and, on PostgreSQL, while its
pool thread waits on the database, so the door's own HTTP figure can come out under in-process + the front alone
(0.3-1.4 ms over in-process on PostgreSQL in one run, against the front's 1.5-1.7 ms).
"""

from __future__ import annotations

import http.client
import io
import multiprocessing
import statistics
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
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

# medians of 9 swung the HTTP figure 1.6-2.3x of the floor between three consecutive runs on a 2-core VM
ROUNDS = 25
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


def _sender(pipe: Connection, host: str, port: int) -> None:
    """A sender process: POSTs each message it is given over one kept-alive connection and answers with the
    seconds from the request's first byte sent to the answer's last byte read (None ends it)."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    while (message := pipe.recv()) is not None:
        started = time.perf_counter()
        connection.request("POST", PATH, body=message, headers=HEADERS)
        response = connection.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        pipe.send((elapsed, response.status, answer))
    connection.close()


class Holder:
    """The front alone: a WSGI application that reads the body, holds the interpreter (a busy loop, as the door's
    Python would) for ``seconds``, then answers an Ack-sized body; ``held`` is how long it did, for each request."""

    ANSWER = b"<AckRequest>" + b"x" * 1500 + b"</AckRequest>"

    def __init__(self) -> None:
        self.seconds = 0.0
        self.held: list[float] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.perf_counter()
        environ["wsgi.input"].read()
        until = started + self.seconds
        while time.perf_counter() < until:
            pass
        self.held.append(time.perf_counter() - started)
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"),
                                  ("Content-Length", str(len(self.ANSWER)))])
        return [self.ANSWER]


class Sender:
    """``_sender`` in a process of its own (spawned: this process runs threads), for the HTTP figure."""

    def __init__(self, host: str, port: int) -> None:
        self.pipe, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(target=_sender, args=(theirs, host, port),
                                                                   daemon=True)
        self.process.start()

    def post(self, message: bytes) -> float:
        self.pipe.send(message)
        elapsed, status, answer = self.pipe.recv()
        assert status == 200 and b"AckRequest" in answer, (status, answer[:300])
        return float(elapsed)

    def close(self) -> None:
        self.pipe.send(None)
        self.process.join(10)


def run(label: str, database: DatabaseConfig, scratch: Path) -> None:
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    ca = keys.issue_test_ca()
    issued = {"gost": deployment.provider}
    mc = gateway.unit_of_work(BENCH_SETUP)
    with mc as uow:
        organisation = uow.organisations.get(org)
        assert organisation is not None
        for algorithm in ("rsa", "ecdsa"):
            issued[algorithm] = keys.issue_test_certificate(ca, org_name=organisation.name,
                                                            ogrn=str(organisation.ogrn), inn=str(organisation.inn),
                                                            algorithm=algorithm)
            uow.organisations.register_certificate(org, keys.describe(issued[algorithm].cert))
        uow.commit()
    roots = _devices(gateway, org, _houses(gateway, org, 1, 1000))[0]
    session = requests.Session()
    print(f"{label:<9} accept path, importMeteringDeviceValues of 1,000 readings, median of {ROUNDS} "
          "(floor = parse + XSD + XAdES verification; over HTTP: posted by a sender in its own process, then "
          "by requests in this one):")
    holder = Holder()
    with EmbeddedServer(gateway.app) as server, EmbeddedServer(holder, settings=server.front.settings) as alone:
        sender = Sender(*server.socket.getsockname()[:2])
        bare = Sender(*alone.socket.getsockname()[:2])
        try:
            for algorithm in ("rsa", "ecdsa", "gost"):
                floors, local, remote, shared, front = [], [], [], [], []
                for n in range(ROUNDS + 1):
                    # a message of its own each time: the same signed body twice is a replay (INT002010)
                    fresh = [envelope(_signed(readings_body(roots, 1 + n % 12), issued[algorithm]), str(org))
                             for _ in range(3)]
                    f = floor(fresh[0])
                    i = in_process(gateway.app, fresh[0])
                    h = sender.post(fresh[1])
                    t = time.perf_counter()
                    response = session.post(server.url + PATH, data=fresh[2], headers=HEADERS, timeout=60)
                    s = time.perf_counter() - t
                    assert response.status_code == 200, response.text[:300]
                    holder.seconds = i
                    b = bare.post(fresh[1]) - holder.held[-1]
                    if n:  # the first round warms the schema, the certificate cache and the plans
                        floors.append(f)
                        local.append(i)
                        remote.append(h)
                        shared.append(s)
                        front.append(b)
                fl, lo, re_, sh, fr = (statistics.median(x) for x in (floors, local, remote, shared, front))
                print(f"  {algorithm:<6} floor {fl * 1000:6.1f} ms | in-process {lo * 1000:6.1f} ms "
                      f"({lo / fl:4.2f}x) | over HTTP {re_ * 1000:6.1f} ms ({re_ / fl:4.2f}x), "
                      f"from this process {sh * 1000:6.1f} ms ({sh / fl:4.2f}x)   (target 1.5x)")
                print(f"         over HTTP = in-process + {(re_ - lo) * 1000:4.1f} ms; the front alone, to an "
                      f"application holding as long: + {fr * 1000:4.1f} ms ({fr / fl:4.2f}x of the floor); "
                      f"in-process + the front alone {(lo + fr) / fl:4.2f}x")
        finally:
            sender.close()
            bare.close()
    gateway.engine.dispose()
