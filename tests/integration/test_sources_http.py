"""Fetching reference files over real HTTP from a server on 127.0.0.1: retries, 304, Range resume, caps.

The server is ``http.server`` in a thread with a handler written for these tests: it serves named
resources with an ETag and Last-Modified, answers conditional requests with 304 and ranges with 206,
and can be told to answer 503 first, to drop the connection part-way through a body, to ignore ranges,
or to stall. Nothing is mocked: the fetcher talks HTTP/1.1 over a socket.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.errors import Code
from gateway.sync.sources import GarRegion, SourceError
from gateway.sync.sources.archive import extract_gar_region
from gateway.sync.sources.http import Fetcher, FetchPolicy, latest_gar_release, part_path, sidecar_path

ROOT = Path(__file__).resolve().parents[2]
GAR = ROOT / "fixtures" / "reference" / "gar"


@dataclass
class Resource:
    body: bytes
    etag: str | None = '"v1"'
    last_modified: str | None = formatdate(1_790_000_000, usegmt=True)
    fail_first: int = 0  # answer 503 this many times first
    drop_after: int | None = None  # send only this many body bytes, then close the connection
    drops: int = 0  # … this many times
    ignore_range: bool = False
    send_length: bool = True
    stall: float = 0.0


@dataclass
class ServerState:
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        state: ServerState = self.server.state  # type: ignore[attr-defined]
        state.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        res = state.resources.get(self.path)
        if res is None:
            self._empty(404)
            return
        if res.fail_first:
            res.fail_first -= 1
            self._empty(503)
            return
        if res.stall:
            time.sleep(res.stall)
        if self._not_modified(res):
            self._empty(304)
            return
        start = self._range_start(res)
        body = res.body[start:]
        self.send_response(206 if start else 200)
        if res.etag:
            self.send_header("ETag", res.etag)
        if res.last_modified:
            self.send_header("Last-Modified", res.last_modified)
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(res.body) - 1}/{len(res.body)}")
        if res.send_length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if res.drop_after is not None and res.drops:
            res.drops -= 1
            self.wfile.write(body[:res.drop_after])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _not_modified(self, res: Resource) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return res.etag is not None and if_none_match == res.etag
        since = self.headers.get("If-Modified-Since")
        if since and res.last_modified:
            return parsedate_to_datetime(res.last_modified) <= parsedate_to_datetime(since)
        return False

    def _range_start(self, res: Resource) -> int:
        wanted = self.headers.get("Range")
        if not wanted or res.ignore_range or not wanted.startswith("bytes=") or not wanted.endswith("-"):
            return 0
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range not in (res.etag, res.last_modified):
            return 0  # the representation changed: the whole of it
        return int(wanted[len("bytes="):-1])


@pytest.fixture()
def server() -> Iterator[tuple[str, ServerState]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = ServerState()
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()
        httpd.server_close()


POLICY = FetchPolicy(connect_timeout=2, read_timeout=2, retries=3, backoff_factor=0.01, backoff_max=0.05,
                     max_resumes=4)
BODY = bytes(range(256)) * 4096  # 1 MiB


def test_a_download_keeps_its_validators_and_a_second_fetch_is_unchanged(
        server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/gar_delta_xml.zip"] = Resource(BODY)
    dest = tmp_path / "gar_delta_xml.zip"
    with Fetcher(POLICY) as fetcher:
        first = fetcher.fetch(f"{base}/gar_delta_xml.zip", dest)
        second = fetcher.fetch(f"{base}/gar_delta_xml.zip", dest)
    assert (first.status, first.bytes, first.etag) == ("downloaded", len(BODY), '"v1"')
    assert first.sha256 == hashlib.sha256(BODY).hexdigest() and dest.read_bytes() == BODY
    sidecar = json.loads(sidecar_path(dest).read_text())
    assert (sidecar["etag"], sidecar["complete"], sidecar["bytes"]) == ('"v1"', True, len(BODY))
    assert second.status == "unchanged" and second.sha256 == first.sha256
    assert state.requests[1]["if-none-match"] == '"v1"'
    assert not part_path(dest).exists()


def test_a_changed_file_is_downloaded_again(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/f"] = Resource(b"old")
    dest = tmp_path / "f"
    with Fetcher(POLICY) as fetcher:
        fetcher.fetch(f"{base}/f", dest)
        state.resources["/f"] = Resource(b"new content", etag='"v2"')
        result = fetcher.fetch(f"{base}/f", dest)
    assert result.status == "downloaded" and dest.read_bytes() == b"new content" and result.etag == '"v2"'


def test_last_modified_alone_makes_a_conditional_get(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/f"] = Resource(b"data", etag=None)
    dest = tmp_path / "f"
    with Fetcher(POLICY) as fetcher:
        fetcher.fetch(f"{base}/f", dest)
        again = fetcher.fetch(f"{base}/f", dest)
    assert again.status == "unchanged"
    assert "if-none-match" not in state.requests[1]
    assert state.requests[1]["if-modified-since"] == state.resources["/f"].last_modified


def test_a_connection_dropped_mid_body_is_resumed_with_a_range(
        server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/big.zip"] = Resource(BODY, drop_after=300_000, drops=2)
    dest = tmp_path / "big.zip"
    with Fetcher(POLICY) as fetcher:
        result = fetcher.fetch(f"{base}/big.zip", dest)
    assert result.status == "downloaded" and result.resumes == 2
    assert dest.read_bytes() == BODY
    ranges = [r.get("range") for r in state.requests]
    assert ranges == [None, "bytes=300000-", "bytes=600000-"]
    assert all(r.get("if-range") == '"v1"' for r in state.requests[1:])


def test_a_part_left_by_a_stopped_process_is_continued(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/big.zip"] = Resource(BODY, drop_after=500_000, drops=1)
    dest = tmp_path / "big.zip"
    with Fetcher(FetchPolicy(connect_timeout=2, read_timeout=2, retries=0, max_resumes=0)) as fetcher:
        with pytest.raises(SourceError) as caught:
            fetcher.fetch(f"{base}/big.zip", dest)
    assert caught.value.code == Code.SOURCE_UNREACHABLE and "incomplete" in str(caught.value)
    assert part_path(dest).stat().st_size == 500_000 and not dest.exists()
    with Fetcher(POLICY) as fetcher:  # a new process: only the part and its sidecar remain
        result = fetcher.fetch(f"{base}/big.zip", dest)
    assert dest.read_bytes() == BODY and result.status == "downloaded"
    assert state.requests[-1]["range"] == "bytes=500000-"


def test_a_server_that_ignores_range_makes_the_download_start_again(
        server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/big.zip"] = Resource(BODY, drop_after=100_000, drops=1, ignore_range=True)
    dest = tmp_path / "big.zip"
    with Fetcher(POLICY) as fetcher:
        fetcher.fetch(f"{base}/big.zip", dest)
    assert dest.read_bytes() == BODY  # not the first 100,000 bytes twice
    assert state.requests[1]["range"] == "bytes=100000-"


def test_a_file_changed_between_attempts_is_not_spliced(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/big.zip"] = Resource(BODY, drop_after=100_000, drops=1)
    dest = tmp_path / "big.zip"
    with Fetcher(FetchPolicy(retries=0, max_resumes=0)) as fetcher, pytest.raises(SourceError):
        fetcher.fetch(f"{base}/big.zip", dest)
    changed = bytes(reversed(BODY))
    state.resources["/big.zip"] = Resource(changed, etag='"v2"')
    with Fetcher(POLICY) as fetcher:
        result = fetcher.fetch(f"{base}/big.zip", dest)
    assert dest.read_bytes() == changed and result.etag == '"v2"'
    assert state.requests[-1]["if-range"] == '"v1"'  # asked to continue v1; the server sent all of v2


def test_a_503_is_retried_then_the_200_is_taken(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/f"] = Resource(b"payload", fail_first=2)
    with Fetcher(POLICY) as fetcher:
        result = fetcher.fetch(f"{base}/f", tmp_path / "f")
    assert result.status == "downloaded" and (tmp_path / "f").read_bytes() == b"payload"
    assert len(state.requests) == 3


def test_a_server_that_keeps_failing_is_unreachable_naming_the_url(
        server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/f"] = Resource(b"payload", fail_first=100)
    with Fetcher(POLICY) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch(f"{base}/f", tmp_path / "f")
    assert caught.value.code == Code.SOURCE_UNREACHABLE and "503" in str(caught.value)
    assert caught.value.file == f"{base}/f"
    assert len(state.requests) == 1 + POLICY.retries


def test_a_404_is_unreachable(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, _state = server
    with Fetcher(POLICY) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch(f"{base}/missing", tmp_path / "f")
    assert caught.value.code == Code.SOURCE_UNREACHABLE and "404" in str(caught.value)


def test_a_closed_port_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Fetcher(POLICY) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch(f"http://127.0.0.1:{port}/f", tmp_path / "f")
    assert caught.value.code == Code.SOURCE_UNREACHABLE and "ConnectionError" in str(caught.value)


def test_a_stalled_server_times_out(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/slow"] = Resource(b"late", stall=1.5)
    policy = FetchPolicy(connect_timeout=1, read_timeout=0.3, retries=1, backoff_factor=0.01)
    started = time.monotonic()
    with Fetcher(policy) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch(f"{base}/slow", tmp_path / "f")
    assert caught.value.code == Code.SOURCE_UNREACHABLE
    assert time.monotonic() - started < 5


def test_an_announced_length_over_the_cap_is_refused_unread(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/big"] = Resource(BODY)
    with Fetcher(FetchPolicy(max_bytes=1000)) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch(f"{base}/big", tmp_path / "big")
    assert caught.value.code == Code.SOURCE_TOO_LARGE
    assert not (tmp_path / "big").exists() and not part_path(tmp_path / "big").exists()


def test_a_body_without_length_is_cut_at_the_cap(server: tuple[str, ServerState], tmp_path: Path) -> None:
    base, state = server
    state.resources["/big"] = Resource(BODY, send_length=False)
    with Fetcher(FetchPolicy(max_bytes=200_000, chunk_bytes=65536)) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch(f"{base}/big", tmp_path / "big")
    assert caught.value.code == Code.SOURCE_TOO_LARGE and not part_path(tmp_path / "big").exists()


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    with Fetcher(POLICY) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch("file:///etc/passwd", tmp_path / "f")
    assert caught.value.code == Code.SOURCE_UNREACHABLE


def test_the_gar_release_description_is_read(server: tuple[str, ServerState]) -> None:
    base, state = server
    info = {"VersionId": 20261002, "TextVersion": "БД ФИАС от 02.10.2026",
            "GarXMLFullURL": f"{base}/2026.10.02/gar_xml.zip", "GarXMLDeltaURL": f"{base}/2026.10.02/gar_delta_xml.zip"}
    state.resources["/GetLastDownloadFileInfo"] = Resource(json.dumps(info).encode())
    with Fetcher(POLICY) as fetcher:
        release = latest_gar_release(fetcher, f"{base}/GetLastDownloadFileInfo")
    assert (release["version_id"], release["delta_url"]) == (20261002, f"{base}/2026.10.02/gar_delta_xml.zip")


def test_a_downloaded_gar_archive_unpacks_to_a_readable_region(server: tuple[str, ServerState], tmp_path: Path) -> None:
    archive = tmp_path / "made.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(GAR / "version.txt", "version.txt")
        for region in ("50", "77"):
            for path in sorted((GAR / region).iterdir()):
                zf.write(path, f"{region}/{path.name}")
    base, state = server
    state.resources["/gar_delta_xml.zip"] = Resource(archive.read_bytes(), drop_after=2000, drops=1)
    with Fetcher(POLICY) as fetcher:
        fetched = fetcher.fetch(f"{base}/gar_delta_xml.zip", tmp_path / "download" / "gar_delta_xml.zip")
    folder = extract_gar_region(fetched.path, "77", tmp_path / "work")
    reader = GarRegion(folder)
    assert reader.version == "2026.10.02" and len(list(reader.houses())) == 5
    assert not (tmp_path / "work" / "50").exists()
