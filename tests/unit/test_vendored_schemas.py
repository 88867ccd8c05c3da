"""The official schemas are vendored unchanged: any edit shows up as a checksum mismatch."""

from __future__ import annotations

import hashlib

from gateway.xsd import SCHEMA_ROOT


def test_vendored_schema_files_are_byte_identical_to_the_release() -> None:
    sums = (SCHEMA_ROOT / "SHA256SUMS").read_text().splitlines()
    assert len(sums) >= 20
    for line in sums:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((SCHEMA_ROOT / name).read_bytes()).hexdigest() == digest, name


def test_every_vendored_file_has_a_checksum() -> None:
    listed = {line.split(maxsplit=1)[1] for line in (SCHEMA_ROOT / "SHA256SUMS").read_text().splitlines()}
    present = {f"./{p.relative_to(SCHEMA_ROOT)}" for p in SCHEMA_ROOT.rglob("*")
               if p.is_file() and p.name not in ("SHA256SUMS", "VENDORED.md")}
    assert present == listed
    assert "./licenses/hcs-licenses-types.xsd" in listed
