"""The one place that parses XML from outside: hardened lxml parsers (no DTD, no entities, no network).

Every byte that comes from a provider, a fixture file or the database goes through ``parse_untrusted``.
A DOCTYPE is refused outright: SOAP 1.1 forbids it (§3), and refusing it closes XXE, external DTDs and
entity-expansion bombs. Without ``huge_tree`` libxml2 itself refuses nesting deeper than 256 levels and
text nodes over 10 MB; the HTTP layer caps the whole body before parsing (``limits.max_body_bytes``).
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from gateway.errors import ForbiddenXml, MalformedXml

_local = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False,
            remove_comments=False, remove_pis=False, collect_ids=False,
        )
        _local.parser = parser
    return parser


_DECLARED = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']""")
#: the first four bytes of a document without a byte order mark, and what they are (XML 1.0 Appendix F)
_UNMARKED = {b"\x00\x00\x00<": "ucs-4", b"<\x00\x00\x00": "ucs-4", b"\x00\x00<\x00": "ucs-4",
             b"\x00<\x00\x00": "ucs-4", b"\x00<\x00?": "utf-16", b"<\x00?\x00": "utf-16", b"Lo\xa7\x94": "ebcdic"}


def sniff_encoding(data: bytes) -> str:
    """The encoding an XML processor reads ``data`` in, lower-case: byte order mark first, then the first
    bytes, then the XML declaration, else UTF-8 (XML 1.0 Appendix F). Used to refuse what a profile forbids."""
    if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        return "utf-32"
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if data.startswith((b"\xfe\xff", b"\xff\xfe")):
        return "utf-16"
    unmarked = _UNMARKED.get(bytes(data[:4]))
    if unmarked is not None:
        return unmarked
    declared = _DECLARED.match(data[:256])
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


#: a DOCTYPE in the prolog: after an optional byte order mark, white space, comments and processing instructions
#: (the XML declaration is one). One character of white space per step and a possessive loop: the prolog of a
#: malformed document is the sender's, and ``(?:\s+|…)*`` backtracks exponentially over a run of spaces (24 spaces
#: took 2 s)
_PROLOG_DOCTYPE = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s|<!--.*?-->|<\?.*?\?>)*+<!DOCTYPE", re.S)
#: the refusal of a document that declares one
DOCTYPE_REFUSED = "a DOCTYPE (DTD) is not allowed"
#: how much of a document's start ``declares_doctype`` reads
PROLOG_BYTES = 64 * 1024


def declares_doctype(start: bytes | bytearray) -> bool:
    """Whether a document beginning with ``start`` declares a DOCTYPE (UTF-8 or ASCII-compatible encodings).

    libxml2 2.14 reports some uses of a declared entity (``Attribute references external entity``) as a syntax
    error before the tree, and so its docinfo, exists: the document is refused either way, and this keeps the
    refusal's code and reason those of a forbidden DOCTYPE."""
    return _PROLOG_DOCTYPE.match(start[:PROLOG_BYTES]) is not None


def tree_declares_doctype(tree: etree._ElementTree) -> bool:
    """Whether a parsed document carries a DOCTYPE (its name, an internal subset or an external DTD)."""
    docinfo = tree.docinfo
    return bool(docinfo.doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse ``data`` into an element tree, or raise ``MalformedXml`` / ``ForbiddenXml`` with a reason."""
    if not isinstance(data, bytes | bytearray):
        raise MalformedXml("XML must arrive as bytes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        if declares_doctype(data):
            raise ForbiddenXml(f"{DOCTYPE_REFUSED} in a SOAP message") from None
        raise MalformedXml(f"not well-formed XML: {exc}") from None
    if tree_declares_doctype(root.getroottree()):
        raise ForbiddenXml(f"{DOCTYPE_REFUSED} in a SOAP message")
    return root
