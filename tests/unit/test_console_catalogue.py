"""The console's UI text: every string in its code and templates has a Russian translation, and the committed
compiled catalogues are those of the committed .po files (``python -m gateway.console.translations.catalogue``
rebuilds both)."""

from __future__ import annotations

import io

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from gateway.console.translations import catalogue


def test_every_console_string_has_a_russian_translation() -> None:
    with (catalogue.HERE / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        russian = read_po(source, locale="ru")
    wanted = {m.id for m in catalogue.extract() if m.id}
    missing = sorted(i for i in wanted if not (russian.get(i) and russian.get(i).string))
    assert missing == [], "run python -m gateway.console.translations.catalogue after adding to RU"
    placeholders = [m.id for m in russian if m.id and m.string and
                    sorted(catalogue_placeholders(m.id)) != sorted(catalogue_placeholders(m.string))]
    assert placeholders == []


def catalogue_placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"%\(\w+\)[sd]", text)


def test_the_committed_mo_files_are_compiled_from_the_po_files() -> None:
    for lang in ("ru", "en"):
        folder = catalogue.HERE / lang / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as source:
            compiled = read_po(source, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, compiled)
        assert buffer.getvalue() == (folder / "messages.mo").read_bytes(), lang
