"""Test helpers: the real `gateway serve` (gunicorn + the front) as a subprocess on 127.0.0.1, and raw HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from lxml import etree

from gateway.bootstrap import Gateway
from gateway.signing import keys

ROOT = Path(__file__).resolve().parents[2]
PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"
HOUSE = (ROOT / "fixtures" / "houses" / "sever-1.xml").read_bytes()
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
BASE = "{http://dom.gosuslugi.ru/schema/integration/base/}"


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 60) -> float:
        """SIGTERM, as an orchestrator stops it; the seconds until the process has exited."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gateway_serve(gateway: Gateway, pki, tmp_path: Path, **server: str) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    """`gateway serve --workers 2` on the fixture's database; ``server`` keys become GATEWAY_SERVER__* variables."""
    keys.write_pem(pki.gateway, tmp_path / "gateway.key.pem", tmp_path / "gateway.cert.pem")
    metrics_dir = tmp_path / f"metrics-{uuid.uuid4().hex[:6]}"
    metrics_dir.mkdir()
    port = free_port()
    database = gateway.config.database
    env = {**os.environ, "GATEWAY_DATABASE__URL": database.url, "GATEWAY_DATABASE__SCHEMA": database.schema,
           "GATEWAY_SIGNING__KEY_FILE": str(tmp_path / "gateway.key.pem"),
           "GATEWAY_SIGNING__CERT_FILE": str(tmp_path / "gateway.cert.pem"),
           "GATEWAY_LOGGING__LEVEL": "INFO", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           **{f"GATEWAY_SERVER__{key.upper()}": value for key, value in server.items()}}
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "gateway.launcher", "serve", "--port", str(port),
                                    "--workers", "2"], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, served.log_text()
            try:
                if requests.get(served.url + "/health", timeout=2).status_code == 200 \
                        and served.log_text().count("event=serve_process_ready") >= 2:  # both take requests
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gateway serve did not come up:\n" + served.log_text()
            time.sleep(0.1)
        yield served
    finally:
        served.stop()


def fresh_house(envelopes, *, message_guid: str | None = None) -> bytes:  # type: ignore[no-untyped-def]
    """The fixture house with new TransportGUIDs, signed by the management company: a new signed payload."""
    body = re.sub(rb"(<base:TransportGUID>)[^<]+", lambda m: m.group(1) + str(uuid.uuid4()).encode(), HOUSE)
    return bytes(envelopes.signed(body, org=MC, message_guid=message_guid))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def code(self) -> str | None:
        """The Fault's ``base:ErrorCode``, or None for an answer that is not a fault."""
        try:
            return etree.fromstring(self.body).findtext(f".//{BASE}Fault/{BASE}ErrorCode")
        except etree.XMLSyntaxError:
            return None

    @property
    def acknowledged(self) -> bool:
        try:
            return etree.fromstring(self.body).find(f".//{BASE}AckRequest/{BASE}Ack") is not None
        except etree.XMLSyntaxError:
            return False


def parse_answer(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), raw[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return Answer(int(lines[0].split()[1]), headers, body)


def exchange(port: int, request: bytes, *, half_close: bool = False, timeout: float = 30) -> Answer:
    """Send raw bytes, read until the server closes (requests carry ``Connection: close``) or has answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(request)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may refuse and close before it has read everything; its answer is what counts
        received = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            head, sep, rest = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and length and len(rest) >= int(length.group(1)):
                break
    return parse_answer(received)
