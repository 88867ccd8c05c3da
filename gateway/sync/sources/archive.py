"""Unpacking one region of a GAR zip archive, streamed to disk, never outside the target folder.

A GAR archive (``gar_xml.zip``, ``gar_delta_xml.zip``) holds region folders (``77/AS_HOUSES_….XML``) and the
shared dictionaries and ``version.txt`` at its root. The reconciliation needs one region at a time, so
``extract_gar_region`` copies that folder's members (and ``version.txt``) out in chunks: no member is read
into memory whole, whatever its size.

The archive is untrusted input. Every member name is checked before anything is written: an absolute
path, a drive letter, a backslash, a ``..`` component or a symbolic link refuses the whole archive
(``SYN001009``; "zip slip"), and every written path is confirmed to resolve inside the target. The bytes
actually inflated are counted against a cap (a zip bomb's headers may lie about sizes), and a member whose
CRC does not match fails the extraction. Members land under a temporary name and are renamed when
complete, so an interrupted extraction never leaves a half-written file under a real name.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from gateway.errors import Code
from gateway.sync.sources.base import SourceError

#: Inflated bytes allowed for one region (Moscow oblast's region folder is some tens of GB).
DEFAULT_MAX_REGION_BYTES = 200 * 2**30
ROOT_FILES = ("version.txt",)


def _unsafe(name: str) -> str | None:
    if not name or name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if any(part == ".." for part in PurePosixPath(name).parts):
        return "a '..' component"
    return None


def extract_gar_region(archive: str | Path, region: str, into: str | Path, *,
                       max_bytes: int = DEFAULT_MAX_REGION_BYTES) -> Path:
    """Extract ``<region>/…`` (and the root ``version.txt``) of a GAR archive into ``into``; the region folder.

    ``into/<region>/`` then reads with ``GarRegion``; ``into/version.txt`` gives its version.
    """
    archive = Path(archive)
    target = Path(into)
    label = archive.name
    if not (len(region) == 2 and region.isascii() and region.isdigit()):
        raise SourceError(f"region {region!r} is not a two-digit region code", code=Code.SOURCE_ARCHIVE_INVALID,
                          file=label)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"not a readable zip archive: {exc}", code=Code.SOURCE_ARCHIVE_INVALID, file=label) from None
    with zf:
        members = zf.infolist()
        for info in members:
            reason = _unsafe(info.filename)
            if reason is None and stat.S_ISLNK(info.external_attr >> 16):
                reason = "a symbolic link"
            if reason is not None:
                raise SourceError(f"member {info.filename!r} is {reason}; the archive is refused (zip slip)",
                                  code=Code.SOURCE_ARCHIVE_INVALID, file=label)
        wanted = [i for i in members if not i.is_dir() and
                  (PurePosixPath(i.filename).parts[:1] == (region,) or i.filename in ROOT_FILES)]
        if not any(PurePosixPath(i.filename).parts[:1] == (region,) for i in wanted):
            raise SourceError(f"the archive has no region folder {region}/", code=Code.SOURCE_ARCHIVE_INVALID,
                              file=label)
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        budget = max_bytes
        for info in wanted:
            dest = (root / info.filename).resolve()
            if not dest.is_relative_to(root):
                raise SourceError(f"member {info.filename!r} would land outside {root}",
                                  code=Code.SOURCE_ARCHIVE_INVALID, file=label)
            budget -= _copy(zf, info, dest, budget, label)
    return target / region


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: int, label: str) -> int:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".unzipping")
    written = 0
    try:
        with zf.open(info) as source, tmp.open("wb") as out:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > budget:
                    raise SourceError(f"member {info.filename!r} inflates past the cap for the region",
                                      code=Code.SOURCE_TOO_LARGE, file=label)
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        tmp.unlink(missing_ok=True)
        raise SourceError(f"member {info.filename!r} cannot be extracted: {exc}", code=Code.SOURCE_ARCHIVE_INVALID,
                          file=label) from None
    except SourceError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)
    return written


def remove_region(folder: str | Path) -> None:
    """Delete an extracted region folder (a run's scratch copy) once the run has read it."""
    shutil.rmtree(folder, ignore_errors=True)
