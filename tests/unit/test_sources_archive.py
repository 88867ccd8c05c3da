"""Unpacking a region of a GAR archive: streamed to disk, only that region, nothing outside the target."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from gateway.errors import Code
from gateway.sync.sources import GarRegion, SourceError
from gateway.sync.sources.archive import extract_gar_region

ROOT = Path(__file__).resolve().parents[2]
GAR = ROOT / "fixtures" / "reference" / "gar"


def _archive(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(GAR / "version.txt", "version.txt")
        zf.writestr("AS_HOUSE_TYPES_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML", "<HOUSETYPES/>")
        for region in ("50", "77"):
            zf.writestr(f"{region}/", "")
            for file in sorted((GAR / region).iterdir()):
                zf.write(file, f"{region}/{file.name}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_one_region_and_the_version_are_extracted_and_read(tmp_path: Path) -> None:
    folder = extract_gar_region(_archive(tmp_path / "gar.zip"), "77", tmp_path / "work")
    assert folder == tmp_path / "work" / "77"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (GAR / "77").iterdir())
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["77", "version.txt"]
    assert GarRegion(folder).version == "2026.10.02"
    assert not list((tmp_path / "work").rglob("*.unzipping"))


@pytest.mark.parametrize("name", ["../evil.XML", "77/../../evil.XML", "/etc/evil.XML", "77\\..\\evil.XML",
                                  "C:/evil.XML"])
def test_an_archive_with_a_member_outside_the_target_is_refused_whole(tmp_path: Path, name: str) -> None:
    archive = _archive(tmp_path / "gar.zip", {name: b"<HOUSES/>"})
    with pytest.raises(SourceError) as caught:
        extract_gar_region(archive, "77", tmp_path / "work")
    assert caught.value.code == Code.SOURCE_ARCHIVE_INVALID and "zip slip" in str(caught.value)
    assert not (tmp_path / "work").exists() and not (tmp_path / "evil.XML").exists()


def test_a_symbolic_link_member_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "gar.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        link = zipfile.ZipInfo("77/link.XML")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(SourceError) as caught:
        extract_gar_region(archive, "77", tmp_path / "work")
    assert caught.value.code == Code.SOURCE_ARCHIVE_INVALID and "symbolic link" in str(caught.value)


def test_inflating_past_the_cap_is_refused_and_leaves_no_partial_file(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("77/AS_HOUSES_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML", b"\0" * 5_000_000)
    assert archive.stat().st_size < 50_000
    with pytest.raises(SourceError) as caught:
        extract_gar_region(archive, "77", tmp_path / "work", max_bytes=1_000_000)
    assert caught.value.code == Code.SOURCE_TOO_LARGE
    assert list((tmp_path / "work").rglob("*.XML*")) == []


def test_a_damaged_member_fails_its_crc(tmp_path: Path) -> None:
    archive = tmp_path / "gar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("77/AS_HOUSES_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML", b"<HOUSES>" + b" " * 1000)
    data = bytearray(archive.read_bytes())
    data[data.index(b"<HOUSES>") + 20] = ord("X")
    archive.write_bytes(bytes(data))
    with pytest.raises(SourceError) as caught:
        extract_gar_region(archive, "77", tmp_path / "work")
    assert caught.value.code == Code.SOURCE_ARCHIVE_INVALID and "CRC" in str(caught.value)


def test_a_missing_region_or_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as missing:
        extract_gar_region(_archive(tmp_path / "gar.zip"), "16", tmp_path / "work")
    assert missing.value.code == Code.SOURCE_ARCHIVE_INVALID and "16/" in str(missing.value)
    (tmp_path / "not.zip").write_bytes(b"PK not really")
    with pytest.raises(SourceError) as not_zip:
        extract_gar_region(tmp_path / "not.zip", "77", tmp_path / "work")
    assert not_zip.value.code == Code.SOURCE_ARCHIVE_INVALID
    with pytest.raises(SourceError):
        extract_gar_region(tmp_path / "gar.zip", "7/", tmp_path / "work")
