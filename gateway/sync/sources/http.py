"""Fetching reference data over HTTP: retries with back-off, timeouts, conditional and resumable downloads.

The registers publish large files that change rarely: GAR's full archive is about 57 GB, a delta a few
dozen MB, and fias.nalog.ru answers ``GetLastDownloadFileInfo`` with the current version's URLs. So:

* one ``requests.Session`` with urllib3's ``Retry`` (connection errors, read errors and 5xx answers are
  retried with exponential back-off, ``Retry-After`` honoured) and connect/read timeouts on every call;
* conditional GET: the ``ETag`` and ``Last-Modified`` of a completed download are kept in a small JSON
  sidecar beside the file (``<file>.fetch.json``) and sent back as ``If-None-Match`` /
  ``If-Modified-Since``; a ``304`` means *unchanged* and nothing is downloaded;
* resumable download: bytes go to ``<file>.part``; when the connection drops mid-body (or the process
  stopped), the next attempt asks for the rest with ``Range: bytes=<have>-`` guarded by ``If-Range`` (the
  strong ETag, else Last-Modified, of the bytes already there), so a changed file is never spliced onto an
  old one. A server that ignores the range (``200``) or whose ``Content-Range`` does not start where the
  part ends is downloaded again from the start. The final length is checked against ``Content-Length`` /
  ``Content-Range``; the file appears under its name only when complete (an atomic rename);
* a size cap, checked against the announced length before reading and against the bytes as they come.

Content is asked for with ``Accept-Encoding: identity`` so that byte offsets are the file's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from gateway import __version__
from gateway.errors import Code
from gateway.sync.sources.base import SourceError

#: fias.nalog.ru's description of the latest GAR release (JSON: VersionId, GarXMLFullURL, GarXMLDeltaURL…).
GAR_LATEST_INFO_URL = "https://fias.nalog.ru/WebServices/Public/GetLastDownloadFileInfo"

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
                requests.exceptions.Timeout, Urllib3Error)


@dataclass(frozen=True)
class FetchPolicy:
    """How hard and how long to try. The defaults suit the registers' public servers."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 5
    backoff_factor: float = 1.0
    backoff_max: float = 120.0
    status_forcelist: tuple[int, ...] = (500, 502, 503, 504)
    #: the full GAR archive is about 57 GB; anything far larger is not what was asked for
    max_bytes: int = 80 * 2**30
    #: how many times a download cut mid-body is resumed before giving up
    max_resumes: int = 10
    chunk_bytes: int = 1 << 20
    user_agent: str = f"dom-gateway/{__version__} (reconciliation)"


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did: ``downloaded`` (new bytes are in ``path``) or ``unchanged`` (a 304)."""

    url: str
    path: Path
    status: Literal["downloaded", "unchanged"]
    bytes: int
    etag: str | None
    last_modified: str | None
    sha256: str | None
    resumes: int


def make_session(policy: FetchPolicy) -> requests.Session:
    """A session whose every request retries connection errors and 5xx answers with back-off."""
    retry = Retry(total=policy.retries, connect=policy.retries, read=policy.retries, status=policy.retries,
                  other=0, backoff_factor=policy.backoff_factor, backoff_max=policy.backoff_max,
                  status_forcelist=policy.status_forcelist, allowed_methods=frozenset({"GET", "HEAD"}),
                  respect_retry_after_header=True, raise_on_status=False)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": policy.user_agent, "Accept-Encoding": "identity"})
    return session


def sidecar_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".fetch.json")


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


class Fetcher:
    """Downloads reference files; one per job run (it holds a connection pool)."""

    def __init__(self, policy: FetchPolicy | None = None, *, session: requests.Session | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self.session = session or make_session(self.policy)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def _get(self, url: str, headers: dict[str, str]) -> requests.Response:
        try:
            return self.session.get(url, headers=headers, stream=True,
                                    timeout=(self.policy.connect_timeout, self.policy.read_timeout))
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"cannot fetch: {type(exc).__name__}: {exc}", code=Code.SOURCE_UNREACHABLE,
                              file=url) from None

    def get_json(self, url: str, *, max_bytes: int = 1 << 20) -> Any:
        """A small JSON document (e.g. GAR's release information), size-capped."""
        _check_scheme(url)
        with self._get(url, {"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise SourceError(f"HTTP {response.status_code} {response.reason}", code=Code.SOURCE_UNREACHABLE,
                                  file=url)
            body = b""
            try:
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise SourceError(f"answer larger than {max_bytes} bytes", code=Code.SOURCE_TOO_LARGE,
                                          file=url)
            except _BODY_ERRORS as exc:
                raise SourceError(f"answer cut off: {exc}", code=Code.SOURCE_UNREACHABLE, file=url) from None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise SourceError(f"not JSON: {exc}", code=Code.SOURCE_MALFORMED, file=url) from None

    def fetch(self, url: str, dest: str | Path) -> FetchResult:
        """Bring ``url`` to ``dest``: unchanged (304), resumed where a part stopped, or downloaded whole."""
        _check_scheme(url)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        meta = _load(sidecar_path(dest), url)
        part = part_path(dest)
        resumes = 0
        restarts = 0
        while True:
            partial = meta.get("partial") if isinstance(meta.get("partial"), dict) else None
            offset = part.stat().st_size if part.exists() else 0
            validator = _range_validator(partial) if partial else None
            headers: dict[str, str] = {}
            if offset and validator:
                headers["Range"] = f"bytes={offset}-"
                headers["If-Range"] = validator
            else:
                if part.exists():
                    part.unlink()  # a part without validators cannot be trusted to continue
                offset = 0
                if dest.exists() and meta.get("complete"):
                    if meta.get("etag"):
                        headers["If-None-Match"] = str(meta["etag"])
                    if meta.get("last_modified"):
                        headers["If-Modified-Since"] = str(meta["last_modified"])
            outcome = self._attempt(url, dest, part, offset, headers, meta)
            if outcome == "unchanged":
                return FetchResult(url, dest, "unchanged", dest.stat().st_size, meta.get("etag"),
                                   meta.get("last_modified"), meta.get("sha256"), resumes)
            if outcome == "restart":
                restarts += 1
                if restarts > 3:
                    raise SourceError("the server keeps answering ranges that do not continue the download",
                                      code=Code.SOURCE_UNREACHABLE, file=url)
                continue
            if outcome == "resume":
                resumes += 1
                if resumes > self.policy.max_resumes:
                    raise SourceError(f"download still incomplete after {self.policy.max_resumes} resumes "
                                      f"({part.stat().st_size if part.exists() else 0} bytes kept in {part.name})",
                                      code=Code.SOURCE_UNREACHABLE, file=url)
                time.sleep(min(self.policy.backoff_max, self.policy.backoff_factor * 2 ** (resumes - 1)))
                continue
            return self._complete(url, dest, part, meta, resumes)

    def _attempt(self, url: str, dest: Path, part: Path, offset: int, headers: dict[str, str],
                 meta: dict[str, Any]) -> str:
        """One request: ``unchanged``, ``done``, ``resume`` (cut mid-body) or ``restart`` (start again)."""
        with self._get(url, headers) as response:
            status = response.status_code
            if status == 304 and ("If-None-Match" in headers or "If-Modified-Since" in headers):
                return "unchanged"
            if status == 416 and offset:
                part.unlink()
                meta["partial"] = None
                return "restart"
            if status not in (200, 206):
                raise SourceError(f"HTTP {status} {response.reason}", code=Code.SOURCE_UNREACHABLE, file=url)
            total: int | None
            if status == 206:
                match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
                if not offset or match is None or int(match[1]) != offset:
                    part.unlink(missing_ok=True)
                    meta["partial"] = None
                    return "restart"
                total = int(match[3]) if match[3] != "*" else None
            else:
                if offset:  # the server ignored the range, or the file changed (If-Range): from the start
                    part.unlink(missing_ok=True)
                    offset = 0
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            if total is not None and total > self.policy.max_bytes:
                part.unlink(missing_ok=True)
                raise SourceError(f"{total} bytes announced, over the cap of {self.policy.max_bytes}",
                                  code=Code.SOURCE_TOO_LARGE, file=url)
            meta["partial"] = {"etag": response.headers.get("ETag"),
                               "last_modified": response.headers.get("Last-Modified"), "total": total}
            meta["complete"] = False
            _save(sidecar_path(dest), url, meta)
            written = offset
            try:
                with part.open("ab" if offset else "wb") as out:
                    # read1 (urllib3 2.3+): whatever has arrived, so a connection dropped mid-chunk loses none of it
                    while chunk := response.raw.read1(self.policy.chunk_bytes, decode_content=False):
                        written += len(chunk)
                        if written > self.policy.max_bytes:
                            out.close()
                            part.unlink(missing_ok=True)
                            raise SourceError(f"more than {self.policy.max_bytes} bytes, over the cap",
                                              code=Code.SOURCE_TOO_LARGE, file=url)
                        out.write(chunk)
            except _BODY_ERRORS:
                return "resume"
        if total is not None and written < total:
            return "resume"
        if total is not None and written > total:
            part.unlink(missing_ok=True)
            raise SourceError(f"{written} bytes received, {total} announced", code=Code.SOURCE_UNREACHABLE, file=url)
        meta["received"] = written
        return "done"

    def _complete(self, url: str, dest: Path, part: Path, meta: dict[str, Any], resumes: int) -> FetchResult:
        partial = meta.get("partial") or {}
        digest = hashlib.sha256()
        with part.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        size = part.stat().st_size
        if partial.get("total") is not None and size != partial["total"]:
            raise SourceError(f"{size} bytes on disk, {partial['total']} announced", code=Code.SOURCE_UNREACHABLE,
                              file=url)
        os.replace(part, dest)
        meta.update({"etag": partial.get("etag"), "last_modified": partial.get("last_modified"), "bytes": size,
                     "sha256": digest.hexdigest(), "complete": True, "partial": None,
                     "fetched_at": datetime.now(UTC).isoformat(timespec="seconds")})
        _save(sidecar_path(dest), url, meta)
        return FetchResult(url, dest, "downloaded", size, meta["etag"], meta["last_modified"], meta["sha256"], resumes)


def latest_gar_release(fetcher: Fetcher, url: str = GAR_LATEST_INFO_URL) -> dict[str, Any]:
    """GAR's current release: ``version_id``, ``full_url``, ``delta_url`` (and the raw answer)."""
    info = fetcher.get_json(url)
    if not isinstance(info, dict) or "VersionId" not in info:
        raise SourceError("not a GAR release description (no VersionId)", code=Code.SOURCE_MALFORMED, file=url)
    return {"version_id": info["VersionId"], "full_url": info.get("GarXMLFullURL"),
            "delta_url": info.get("GarXMLDeltaURL"), "raw": info}


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise SourceError("only http and https URLs are fetched", code=Code.SOURCE_UNREACHABLE, file=url)


def _range_validator(partial: dict[str, Any]) -> str | None:
    """If-Range needs a strong validator: a strong ETag, else the Last-Modified date."""
    etag = partial.get("etag")
    if isinstance(etag, str) and etag and not etag.startswith("W/"):
        return etag
    modified = partial.get("last_modified")
    return modified if isinstance(modified, str) and modified else None


def _load(path: Path, url: str) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) and meta.get("url") == url else {}


def _save(path: Path, url: str, meta: dict[str, Any]) -> None:
    meta["url"] = url
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
