"""Hostile XML is refused before any work, with a code (DEVELOPERS: bad input)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import Code, GatewayError
from gateway.soap import binding, envelope
from gateway.xmlparse import parse_untrusted

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>"""
#: an external entity in an attribute: libxml2 2.14 fails the parse before the tree (and its docinfo) exists
ATTRIBUTE_XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x a="&xxe;"/>"""
#: a byte order mark, a comment and a processing instruction before the DOCTYPE
PROLOGUE_FIRST = b"""\xef\xbb\xbf<?xml version="1.0"?>\n<!-- x --><?pi y?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<x a="&e;"/>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, ATTRIBUTE_XXE, PROLOGUE_FIRST])
def test_doctype_entities_and_external_dtds_are_refused(payload: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_untrusted(payload)
    assert refused.value.code is Code.XML_FORBIDDEN_CONSTRUCT, refused.value.message
    assert "passwd" not in refused.value.message


def test_a_long_prolog_of_a_malformed_document_is_refused_as_malformed() -> None:
    """The prolog of a document that fails to parse is searched for a DOCTYPE; 64 KiB of spaces must not make that
    search backtrack (an earlier pattern took 2 s over 24 spaces and grew exponentially)."""
    for prolog in (b" " * 65536, b" \n\t\r" * 16384, b"<!--" * 16384, b"<?" * 32768):
        with pytest.raises(GatewayError) as refused:
            parse_untrusted(prolog + b"<x>")
        assert refused.value.code is Code.XML_MALFORMED


_MISC = st.lists(st.sampled_from([b" ", b"\n", b"\t", b"<!-- note -->", b"<?pi data?>", b"<!---->"]), max_size=20)


@given(_MISC)
def test_a_doctype_is_found_after_any_prolog(misc: list[bytes]) -> None:
    from gateway.xmlparse import declares_doctype

    prolog = b'<?xml version="1.0"?>' + b"".join(misc)
    assert declares_doctype(prolog + b"<!DOCTYPE x []><x/>") is True
    assert declares_doctype(prolog + b"<x/>") is False
    assert declares_doctype(prolog + b"<x/><!DOCTYPE x>") is False  # only the prolog counts


def test_deep_nesting_is_refused_by_the_parser_limits() -> None:
    deep = b"<a>" * 5000 + b"</a>" * 5000
    with pytest.raises(GatewayError) as refused:
        parse_untrusted(deep)
    assert refused.value.code is Code.XML_MALFORMED


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe\x00junk", b"<a>", b"not xml at all"])
def test_junk_is_malformed(payload: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_untrusted(payload)
    assert refused.value.code is Code.XML_MALFORMED


def test_soap_12_envelope_is_refused_as_wrong_namespace() -> None:
    soap12 = b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x/></e:Body></e:Envelope>'
    with pytest.raises(GatewayError) as refused:
        envelope.split(parse_untrusted(soap12))
    assert refused.value.code is Code.NOT_SOAP_ENVELOPE


def test_two_body_elements_are_refused() -> None:
    doubled = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a/><b/></s:Body>'
               b'</s:Envelope>')
    with pytest.raises(GatewayError) as refused:
        envelope.split(parse_untrusted(doubled))
    assert refused.value.code is Code.NOT_SOAP_ENVELOPE


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(alphabet='<>/="&;!?[]-: sxabcDOCTYPEENTITY', max_size=200).map(str.encode),
))
def test_envelope_parser_only_ever_refuses_with_a_gateway_error(payload: bytes) -> None:
    """Whatever arrives, the door answers with a coded refusal or a parsed envelope, never a crash."""
    try:
        envelope.split(parse_untrusted(payload))
    except GatewayError as refused:
        assert refused.code.value[:3] == "INT"


def test_a_text_node_over_ten_megabytes_is_refused() -> None:
    with pytest.raises(GatewayError) as refused:
        parse_untrusted(b"<a>" + b"x" * 10_000_001 + b"</a>")
    assert refused.value.code is Code.XML_MALFORMED and "Text node too long" in refused.value.message


ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>{before}<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
            ' xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/"><s:Header>{header}</s:Header>'
            '<s:Body><base:getStateRequest/></s:Body>{after}</s:Envelope>')


def soap(before: str = "", header: str = "<base:RequestHeader/>", after: str = "") -> bytes:
    return ENVELOPE.format(before=before, header=header, after=after).encode()


@pytest.mark.parametrize("payload", [soap(before="<?xml-stylesheet href='x.xsl'?>"),
                                     soap(header="<base:RequestHeader/><?php system('id') ?>"),
                                     soap(after="").replace(b"</s:Envelope>", b"</s:Envelope><?trailer?>")])
def test_processing_instructions_anywhere_are_refused_as_soap_11_forbids(payload: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        envelope.split(parse_untrusted(payload))
    assert refused.value.code is Code.XML_FORBIDDEN_CONSTRUCT


def test_the_xml_declaration_is_not_a_processing_instruction() -> None:
    assert envelope.split(parse_untrusted(soap())).body.tag.endswith("getStateRequest")


@pytest.mark.parametrize("after", ["<s:Body><base:getStateRequest/></s:Body>", "<s:Header/>", "<x:other xmlns:x='u'/>"])
def test_anything_after_the_body_is_refused(after: str) -> None:
    with pytest.raises(GatewayError) as refused:
        envelope.split(parse_untrusted(soap(after=after)))
    assert refused.value.code is Code.NOT_SOAP_ENVELOPE


def test_a_second_request_header_is_refused_not_ignored() -> None:
    with pytest.raises(GatewayError) as refused:
        envelope.split(parse_untrusted(soap(header="<base:RequestHeader/><base:RequestHeader/>")))
    assert refused.value.code is Code.HEADER_INVALID


@pytest.mark.parametrize("data", [soap(), b"\xef\xbb\xbf" + soap(), soap().decode().encode("utf-16"),
                                  soap().decode().encode("utf-16-le"), soap().decode().encode("utf-16-be"),
                                  soap().replace(b"UTF-8", b"utf-8")])
def test_utf8_and_utf16_are_accepted_with_or_without_a_byte_order_mark(data: bytes) -> None:
    binding.check_encoding(data, None)
    assert envelope.split(parse_untrusted(data)).body.tag.endswith("getStateRequest")


@pytest.mark.parametrize("data", [soap().decode().encode("utf-32"), soap().decode().encode("utf-32-le"),
                                  soap().replace(b"UTF-8", b"windows-1251"), soap().replace(b"UTF-8", b"ISO-8859-1"),
                                  soap().replace(b"UTF-8", b"US-ASCII"), b"Lo\xa7\x94" + soap()[4:]])
def test_every_other_encoding_is_refused(data: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        binding.check_encoding(data, None)
    assert refused.value.code is Code.ENCODING_UNSUPPORTED


def test_a_charset_that_is_not_the_documents_encoding_is_refused() -> None:
    with pytest.raises(GatewayError) as refused:
        binding.check_encoding(soap().decode().encode("utf-16"), binding.check_media_type("text/xml; charset=UTF-8"))
    assert refused.value.code is Code.ENCODING_UNSUPPORTED


@pytest.mark.parametrize("content_type, charset", [("text/xml", None), ("TEXT/XML; Charset=\"UTF-8\"", "utf-8"),
                                                   ("text/xml;charset=utf-16", "utf-16"),
                                                   ("text/xml; action=x; charset=utf-16le", "utf-16")])
def test_text_xml_is_the_media_type(content_type: str, charset: str | None) -> None:
    assert binding.check_media_type(content_type) == charset


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=120)))
def test_any_content_type_is_text_xml_or_refused_with_415(content_type: str | None) -> None:
    try:
        assert binding.check_media_type(content_type) in {None, "utf-8", "utf-16"}
    except GatewayError as refused:
        assert (refused.code, refused.http_status) == (Code.MEDIA_TYPE_UNSUPPORTED, 415)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_have_an_encoding_or_are_refused_with_a_code(data: bytes) -> None:
    try:
        binding.check_encoding(data, None)
    except GatewayError as refused:
        assert refused.code is Code.ENCODING_UNSUPPORTED
