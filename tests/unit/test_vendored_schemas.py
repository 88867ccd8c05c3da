"""The official schemas are vendored unchanged: any edit shows up as a checksum mismatch."""

from __future__ import annotations

import hashlib

from gateway.xsd import SCHEMA_ROOT


def test_vendored_schema_files_are_byte_identical_to_the_release() -> None:
    sums = (SCHEMA_ROOT / "SHA256SUMS").read_text().splitlines()
    assert len(sums) >= 18
    for line in sums:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((SCHEMA_ROOT / name).read_bytes()).hexdigest() == digest, name
