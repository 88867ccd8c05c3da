"""Signatures are verified in the received document, not on a detached copy (issue 16, finding 3).

Inclusive canonicalisation (Canonical XML 1.0/1.1, .NET SignedXml's default) renders on the signed element
every namespace in scope in the envelope and the xml:* attributes it inherits; the vectors are in-place
signatures of a SOAP envelope made by xmlsec1 (fixtures/signatures/make_vectors.py).
"""

from __future__ import annotations

import uuid

import pytest
import requests
from lxml import etree

from gateway.bootstrap import Gateway
from gateway.errors import Code, TrustRefused
from gateway.signing import keys, sign, verify
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from tests.conftest import HM_PATH, Pki
from tests.signing_support import (
    BASE,
    C14N_10,
    C14N_11,
    EXC_C14N,
    HM,
    SOAP,
    XML,
    received,
    request_of,
    unsigned_envelope,
    vector,
    wrap,
)

MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
IN_PLACE = [f"xmlsec1-{algorithm}-envelope-{c14n}.xml" for algorithm in ("rsa", "ecdsa")
            for c14n in ("exc-c14n", "c14n", "c14n11")]
INCLUSIVE = [name for name in IN_PLACE if "exc-c14n" not in name]


def _refused(element: etree._Element) -> Code:
    with pytest.raises(TrustRefused) as refused:
        verify(element)
    return refused.value.code


SIGNERS_CA = keys.issue_test_ca()


@pytest.fixture(scope="module")
def signers() -> dict[str, keys.Issued]:
    return {alg: keys.issue_test_certificate(SIGNERS_CA, org_name="UK", ogrn="1027700999017", inn="7709990015",
                                             algorithm=alg) for alg in ("rsa", "ecdsa", "gost")}


def _with_envelope_namespace(data: bytes) -> bytes:
    """The same envelope with one more namespace declaration on soapenv:Envelope (unused by anything)."""
    return data.replace(b"<soapenv:Envelope ", b'<soapenv:Envelope xmlns:extra="urn:extra" ', 1)


@pytest.mark.parametrize("name", IN_PLACE)
def test_an_xmlsec1_signature_made_in_place_verifies_in_its_envelope(name: str) -> None:
    verified = verify(received(vector(name)))
    signed = parse_untrusted(verified.signed_element)
    assert signed.get("Id") == "signed-data-container" and signed.findtext(f".//{{{HM}}}TotalSquare") == "5400.5"
    # what the gateway processes is the canonical form that was signed: for inclusive c14n, in the envelope
    assert ("xsi" in signed.nsmap) is (name in INCLUSIVE)


@pytest.mark.parametrize("name", INCLUSIVE)
def test_an_extra_namespace_on_the_envelope_breaks_an_inclusive_signature(name: str) -> None:
    assert _refused(received(_with_envelope_namespace(vector(name)))) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_an_exclusive_signature_does_not_depend_on_the_envelope(algorithm: str) -> None:
    name = f"xmlsec1-{algorithm}-envelope-exc-c14n.xml"
    original = verify(received(vector(name)))
    changed = verify(received(_with_envelope_namespace(vector(name))))
    assert changed.signed_element == original.signed_element and changed.replay_key == original.replay_key


@pytest.mark.parametrize("c14n, inherited", [("c14n", {"lang": "ru", "id": "soap-body"}), ("c14n11", {"lang": "ru"})])
def test_the_xml_attributes_of_the_envelope_are_inherited_by_an_inclusive_canonical_form(
        c14n: str, inherited: dict[str, str]) -> None:
    """xml:lang (Envelope) and xml:id (Body) go onto the request element in Canonical XML 1.0; in 1.1 xml:id does
    not (C14N 1.1 §2.4). xmlsec1 computed the vectors' digests that way."""
    data = vector(f"xmlsec1-rsa-envelope-{c14n}-xml-attributes.xml")
    signed = parse_untrusted(verify(received(data)).signed_element)
    assert {name[len(XML) + 2:]: value for name, value in signed.attrib.items() if name.startswith(f"{{{XML}}}")} \
        == inherited
    assert _refused(received(data.replace(b'xml:lang="ru"', b'xml:lang="en"', 1))) is Code.SIGNATURE_INVALID
    assert _refused(received(data.replace(b' xml:lang="ru"', b"", 1))) is Code.SIGNATURE_INVALID
    without_id = received(data.replace(b' xml:id="soap-body"', b"", 1))
    if "id" in inherited:
        assert _refused(without_id) is Code.SIGNATURE_INVALID
    else:
        assert verify(without_id).signed_element == verify(received(data)).signed_element


def test_canonical_xml_11_under_an_ancestors_xml_base_is_refused_not_guessed(signers: dict[str, keys.Issued]) -> None:
    """C14N 1.1 joins the ancestors' xml:base into the apex's ("fix-up"); the gateway does not implement it."""
    root, element = unsigned_envelope()
    sign(element, key=signers["rsa"].key, cert=signers["rsa"].cert, c14n=C14N_11)
    root.set(f"{{{XML}}}base", "http://example.org/messages/")
    assert _refused(received(etree.tostring(root))) is Code.ALGORITHM_UNSUPPORTED


def test_a_signature_valid_only_on_the_detached_element_is_refused_in_the_received_document() -> None:
    """xmlsec1 signed the request element on its own with Canonical XML 1.0; in an envelope that declares
    namespaces its canonical form is another, so the signature does not hold for what was received."""
    alone = vector("xmlsec1-rsa-detached-c14n-importHouseUORequest.xml")
    assert verify(received(alone)).signed_element
    assert _refused(received(wrap(alone))) is Code.SIGNATURE_INVALID


def test_the_vectors_carry_what_the_gis_profile_says() -> None:
    for name in IN_PLACE:
        element = received(vector(name))
        assert element.getparent().tag == f"{{{SOAP}}}Body" and element[0].tag.endswith("}Signature")
        uris = [r.get("URI") for r in element[0].iter("{http://www.w3.org/2000/09/xmldsig#}Reference")]
        assert uris == ["#signed-data-container", "#xmlsec1-vector-signedprops"]


@pytest.mark.parametrize("name", [*IN_PLACE, "xmlsec1-rsa-envelope-c14n-xml-attributes.xml"])
def test_verification_leaves_the_received_document_as_it_was(name: str) -> None:
    element = received(vector(name))
    before = etree.tostring(element.getroottree())
    verify(element)
    assert etree.tostring(element.getroottree()) == before


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
@pytest.mark.parametrize("c14n", [EXC_C14N, C14N_10, C14N_11], ids=["exc-c14n", "c14n", "c14n11"])
def test_a_signature_made_in_place_by_the_gateway_signer_verifies_there_for_every_algorithm(
        signers: dict[str, keys.Issued], algorithm: str, c14n: str) -> None:
    root, element = unsigned_envelope()
    sign(element, key=signers[algorithm].key, cert=signers[algorithm].cert, c14n=c14n)
    wire = etree.tostring(root)
    verified = verify(received(wire))
    assert verified.fingerprint == keys.describe(signers[algorithm].cert).fingerprint
    # the same element in another envelope (serialised on its own it keeps the declarations it had in scope)
    moved = wrap(etree.tostring(request_of(parse_untrusted(wire))), namespaces={"other": "urn:other"})
    if c14n == EXC_C14N:
        assert verify(received(moved)).signed_element == verified.signed_element
    else:
        assert _refused(received(moved)) is Code.SIGNATURE_INVALID


def test_the_replay_key_of_an_inclusive_signature_ignores_the_unsigned_header() -> None:
    data = vector("xmlsec1-rsa-envelope-c14n.xml")
    original = verify(received(data))
    replayed = data.replace(b"3f0c2d4e-8b1a-4c6d-9e2f-7a5b3c1d0e9f", str(uuid.uuid4()).encode())
    assert replayed != data and verify(received(replayed)).replay_key == original.replay_key


@pytest.mark.parametrize("c14n", [C14N_10, C14N_11], ids=["c14n", "c14n11"])
def test_an_in_place_inclusive_gost_request_is_acknowledged_and_processed(
        server: EmbeddedServer, gateway: Gateway, pki: Pki, c14n: str) -> None:
    """Through the SOAP endpoint: the gateway verifies the body where it stands and processes its canonical form."""
    issued = pki.by_org[MC]
    root, element = unsigned_envelope()
    sign(element, key=issued.key, cert=issued.cert, c14n=c14n)
    response = requests.post(server.url + HM_PATH, data=etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                             timeout=10, headers={"Content-Type": "text/xml; charset=utf-8",
                                                  "SOAPAction": '"urn:importHouseUOData"'})
    assert response.status_code == 200, response.text
    guid = etree.fromstring(response.content).findtext(f".//{{{BASE}}}Ack/{{{BASE}}}MessageGUID")
    assert gateway.worker.drain() == 1
    state = (f'<base:getStateRequest xmlns:base="{BASE}"><base:MessageGUID>{guid}</base:MessageGUID>'
             "</base:getStateRequest>").encode()
    answer = requests.post(server.url + HM_PATH, data=wrap(state), timeout=10,
                           headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:getState"'})
    result = etree.fromstring(answer.content)
    assert result.findtext(f".//{{{BASE}}}RequestState") == "3"
    assert len(result.findall(f".//{{{HM}}}CommonResult")) == 8 and not result.findall(f".//{{{BASE}}}Error")
