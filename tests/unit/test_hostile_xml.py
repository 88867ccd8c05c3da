"""Hostile XML is refused before any work, with a code (DEVELOPERS: bad input)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import Code, GatewayError
from gateway.soap import envelope
from gateway.xmlparse import parse_untrusted

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, EXTERNAL_DTD])
def test_doctype_entities_and_external_dtds_are_refused(payload: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_untrusted(payload)
    assert refused.value.code in {Code.XML_FORBIDDEN_CONSTRUCT, Code.XML_MALFORMED}
    assert "passwd" not in refused.value.message or refused.value.code is Code.XML_FORBIDDEN_CONSTRUCT


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
