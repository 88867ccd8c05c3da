"""Hardened, streaming XML reading for the sources: ``lxml.etree.iterparse`` with the project's settings.

The same rules as ``gateway.xmlparse`` (no DTD, no entity expansion, no network), applied to files of any
size: a reference file is never read whole. Elements are released as soon as they are read (``release``:
cleared, and the already-read siblings before them removed from their parent), so memory holds one record
at a time whatever the file's size. A DOCTYPE is refused outright, as at the SOAP door: none of these
formats uses one, and refusing it closes XXE and entity-expansion bombs. Parse failures become
``SourceError`` naming the file and line.

libxml2's safety limits stay on (``huge_tree`` off: nesting deeper than 256, a text node or attribute
over 10 MB is refused). They bound one node, not the file: a single-line GAR table of 1.2 million rows
(275 MB) streams through them, and so do larger ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from gateway.errors import Code
from gateway.sync.sources.base import SourceError
from gateway.xmlparse import DOCTYPE_REFUSED, PROLOG_BYTES, declares_doctype, tree_declares_doctype

Element = Any  # lxml ships no type information; an lxml.etree._Element

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}


def _open(path: Path, label: str) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror or exc}", code=Code.SOURCE_UNREADABLE,
                          file=label) from None


def _doctype_refused(label: str) -> SourceError:
    return SourceError(f"{DOCTYPE_REFUSED} in a reference file", code=Code.SOURCE_FORBIDDEN_CONSTRUCT, file=label,
                       line=1)


def _refuse_doctype(element: Element, label: str) -> None:
    if tree_declares_doctype(element.getroottree()):
        raise _doctype_refused(label)


def _declares_doctype(path: Path) -> bool:
    """Whether the file's prolog declares a DOCTYPE. libxml2 2.14 reports an entity reference in the DTD's wake
    (``Attribute references external entity``) as a syntax error before the root's start event reaches the
    check on the tree's docinfo; the file is refused either way, and this keeps the refusal's code and reason."""
    try:
        with path.open("rb") as stream:
            return declares_doctype(stream.read(PROLOG_BYTES))
    except OSError:
        return False


def _syntax_error(exc: etree.XMLSyntaxError, label: str, path: Path | None = None) -> SourceError:
    if path is not None and _declares_doctype(path):
        return _doctype_refused(label)
    line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
    message = f"not well-formed or truncated XML: {str(exc.msg or exc).strip()}"
    return SourceError(message, code=Code.SOURCE_MALFORMED, file=label, line=line)


def peek(path: Path, label: str, count: int = 2) -> list[etree.QName]:
    """The names of the first ``count`` elements that start in the file (the root first); cheap.

    Reads only as far as needed, so a reader can tell what a file is before streaming it. A file with
    fewer elements gives a shorter list; an empty or malformed start raises ``SourceError``.
    """
    names: list[etree.QName] = []
    with _open(path, label) as stream:
        context = etree.iterparse(stream, events=("start",), **_PARSER_OPTIONS)
        try:
            for _event, element in context:
                if not names:
                    _refuse_doctype(element, label)
                names.append(etree.QName(element))
                if len(names) >= count:
                    break
        except etree.XMLSyntaxError as exc:
            if not names:
                raise _syntax_error(exc, label, path) from None
            # the start was readable; the main pass will report where the file breaks
    if not names:
        raise SourceError("empty file, not XML", code=Code.SOURCE_MALFORMED, file=label, line=1)
    return names


def iterate(path: Path, label: str, *, events: Iterable[str] = ("end",),
            tag: str | Iterable[str] | None = None) -> Iterator[tuple[str, Element]]:
    """Stream ``(event, element)`` pairs of the file; the caller releases elements it is done with."""
    with _open(path, label) as stream:
        context = etree.iterparse(stream, events=tuple(events), tag=tag, **_PARSER_OPTIONS)
        iterator = iter(context)
        first = True
        while True:
            try:
                event, element = next(iterator)
            except StopIteration:
                return
            except etree.XMLSyntaxError as exc:
                raise _syntax_error(exc, label, path if first else None) from None
            if first:
                _refuse_doctype(element, label)
                first = False
            yield event, element


def release(element: Element) -> None:
    """Free an element that has been read, and the siblings read before it, so memory stays flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def text(element: Element | None) -> str | None:
    """An element's text, stripped; None for a missing element or an empty one."""
    if element is None:
        return None
    value = element.text
    if value is None:
        return None
    value = value.strip()
    return value or None
