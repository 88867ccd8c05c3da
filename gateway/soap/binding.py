"""The SOAP 1.1 HTTP binding's rules for a request, checked before the envelope is parsed.

SOAP 1.1 (W3C Note, 8 May 2000) §6.1.1 and WS-I Basic Profile 1.1 decide each:

- the media type must be ``text/xml`` (§6.1.1; R1115 answers any other with 415): JSON, form bodies and
  SOAP 1.2's ``application/soap+xml`` are refused, ``MEDIA_TYPE_UNSUPPORTED``;
- a ``charset`` parameter, if given, must name UTF-8 or UTF-16 (R1012) and be the document's real
  encoding (R1018); without one the document's byte order mark or XML declaration decide (XML 1.0
  Appendix F), since many clients send plain ``text/xml``;
- the document must be UTF-8 or UTF-16 (R1012 — both must be accepted, with or without a byte order
  mark, R4001); UTF-32, EBCDIC, windows-1251 and the rest are refused, ``ENCODING_UNSUPPORTED``;
- the ``SOAPAction`` header must be present (§6.1.1 "MUST", R2744); an unquoted value is accepted —
  R1109 asks senders to quote it and R1119 leaves refusing unquoted ones to the receiver, and no
  ambiguity comes of it — while its value must name the body's operation (checked with the body).
"""

from __future__ import annotations

from gateway.errors import Code, FramingRefused, RequestRefused
from gateway.xmlparse import sniff_encoding

#: charset labels of the two encodings WS-I BP R1012 allows, and the family each belongs to
_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "utf-16le": "utf-16", "utf-16be": "utf-16"}


class MediaTypeRefused(RequestRefused):
    code = Code.MEDIA_TYPE_UNSUPPORTED
    http_status = 415


def check_media_type(content_type: str | None) -> str | None:
    """The request's ``charset`` family (``utf-8``/``utf-16``) or None when not given; refuses any other type."""
    media_type, _, parameters = (content_type or "").partition(";")
    if media_type.strip().lower() != "text/xml":
        shown = media_type.strip()[:80] or "none"
        raise MediaTypeRefused(f"Content-Type {shown!r} is not text/xml, the SOAP 1.1 media type (SOAP 1.1 §6.1.1)")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset is None:
        return None
    family = _CHARSETS.get(charset)
    if family is None:
        raise MediaTypeRefused(f"charset {charset[:40]!r} is neither UTF-8 nor UTF-16 (WS-I BP 1.1 R1012)")
    return family


def check_soap_action(value: str | None) -> str:
    """The SOAPAction's value without quotes; its absence is refused (SOAP 1.1 §6.1.1, WS-I BP 1.1 R2744)."""
    if value is None:
        raise FramingRefused("the SOAPAction header is missing; send SOAPAction: \"urn:<operation>\" "
                             "(SOAP 1.1 §6.1.1, WS-I BP 1.1 R2744)", code=Code.SOAPACTION_MISSING)
    return value.strip().strip('"')


def check_encoding(body: bytes, charset: str | None) -> None:
    """The document is UTF-8 or UTF-16 (R1012) and, where the header names a charset, that one (R1018)."""
    encoding = sniff_encoding(body)
    family = _CHARSETS.get(encoding)
    if family is None:
        raise RequestRefused(f"the message is encoded as {encoding[:40]}; SOAP messages here are UTF-8 or UTF-16 "
                             "(WS-I BP 1.1 R1012)", code=Code.ENCODING_UNSUPPORTED)
    if charset is not None and charset != family:
        raise RequestRefused(f"Content-Type says charset={charset} but the document is {family.upper()} "
                             "(WS-I BP 1.1 R1018)", code=Code.ENCODING_UNSUPPORTED)
