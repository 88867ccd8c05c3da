"""docs/providers.md documents every local error code and every column of every push layout."""

from __future__ import annotations

import re
from pathlib import Path

from providers.codes import Local
from providers.layouts import LAYOUTS

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "providers.md").read_text(encoding="utf-8")


def test_the_guide_lists_exactly_the_local_codes_with_their_names() -> None:
    documented = dict(re.findall(r"^\| (PRV\d{6}) \| (\w+) \|", GUIDE, re.MULTILINE))

    assert documented == {code.value: code.name for code in Local}


def test_the_guide_documents_every_column_of_every_layout() -> None:
    for kind, layout in LAYOUTS.items():
        section = GUIDE.split(f"### {kind} — ", 1)[1].split("\n### ", 1)[0]
        for column in layout.columns:
            assert re.search(rf"\b{column.name}\b", section), (kind, column.name)
            if column.required:
                assert f"**{column.name}**" in section, (kind, column.name, "required: shown bold")
