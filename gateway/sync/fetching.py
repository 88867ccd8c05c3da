"""A job's source as a local path: a path is taken as it is; an http(s) URL is downloaded into the cache
(conditionally — an unchanged file is not fetched again — and resumably), and a GAR zip archive has its
configured regions taken out of it."""

from __future__ import annotations

import zipfile
from pathlib import Path
from urllib.parse import urlparse

from gateway.config import ReconciliationConfig
from gateway.errors import Code
from gateway.sync.sources import Fetcher, SourceError, extract_gar_region


def local(location: str, job: str, settings: ReconciliationConfig) -> Path:
    """Where the job reads its source from, downloading or unpacking it first if need be."""
    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        name = Path(parsed.path).name or "source"
        path = Path(settings.cache_dir) / job / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with Fetcher() as fetcher:
            fetcher.fetch(location, path)
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise SourceError(f"a source is a path or an http(s) URL, not {parsed.scheme}://",
                          code=Code.SOURCE_UNREADABLE, file=location)
    else:
        path = Path(location)
    if not path.exists():
        raise SourceError("no such file or folder", code=Code.SOURCE_UNREADABLE, file=path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _unpack_gar(path, job, settings)
    return path


def _unpack_gar(archive: Path, job: str, settings: ReconciliationConfig) -> Path:
    regions = [r.strip() for r in settings.address_regions.split(",") if r.strip()]
    if not regions:
        raise SourceError("a GAR archive needs the regions to take out of it: set reconciliation.address_regions "
                          "(e.g. \"77,50\")", code=Code.SOURCE_ARCHIVE_INVALID, file=archive)
    into = Path(settings.cache_dir) / job / f"{archive.stem}-unpacked"
    for region in regions:
        extract_gar_region(archive, region, into)
    return into
