"""Every error code is stable, unique and documented in the README's error table."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.errors import Code

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_codes_are_unique_and_gis_shaped() -> None:
    values = [code.value for code in Code]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"(INT|SRV|SYN|OPS|CON)\d{6}", value) for value in values)


def test_readme_error_table_lists_exactly_the_catalogue() -> None:
    documented = dict(re.findall(r"^\| ((?:INT|SRV|SYN|OPS|CON)\d{6}) \| (\w+) \|", README, flags=re.MULTILINE))
    assert documented == {code.value: code.name for code in Code}
