"""Shared by the signature tests: the committed vectors, SOAP envelopes as the wire carries them, and a signature
value made again over a changed SignedInfo (so that a test's refusal is the profile's, not a broken signature's).

Re-signing uses lxml and cryptography directly (and the GOST primitive), not the verifier under test.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from gateway.signing import gost, keys
from gateway.xmlparse import parse_untrusted

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "fixtures" / "signatures"
HOUSE = ROOT / "fixtures" / "houses" / "sever-1.xml"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
XML = "http://www.w3.org/XML/1998/namespace"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
#: the CA of the committed vectors' TEST-ONLY certificates (fixtures/signatures/make_vectors.py)
VECTOR_CA = VECTORS / "TEST-ONLY-xmlsec1-ca.cert.pem"


def ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def request_of(root: etree._Element) -> etree._Element:
    """The signed request element of a parsed document: the root itself, or the child of soap:Body."""
    if root.tag != f"{{{SOAP}}}Envelope":
        return root
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None
    return next(child for child in body if isinstance(child.tag, str))


def received(data: bytes) -> etree._Element:
    """The request element of ``data`` as the gateway gets it: parsed, inside whatever envelope there is."""
    return request_of(parse_untrusted(data))


def wrap(request: bytes, *, namespaces: dict[str, str] | None = None, message_guid: str | None = None) -> bytes:
    """``request`` (bytes of a request element) inside a SOAP 1.1 envelope with a RequestHeader, serialised."""
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP, "base": BASE, **(namespaces or {})})
    header = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP}}}Header"), f"{{{BASE}}}RequestHeader")
    etree.SubElement(header, f"{{{BASE}}}Date").text = "2026-11-23T12:00:00+03:00"
    etree.SubElement(header, f"{{{BASE}}}MessageGUID").text = message_guid or str(uuid.uuid4())
    etree.SubElement(header, f"{{{BASE}}}orgPPAGUID").text = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
    etree.SubElement(envelope, f"{{{SOAP}}}Body").append(parse_untrusted(request))
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def unsigned_envelope() -> tuple[etree._Element, etree._Element]:
    """A fresh envelope (root) holding the fixture house request (returned second), to be signed in place."""
    root = parse_untrusted(wrap(HOUSE.read_bytes(), namespaces={"xsi": "http://www.w3.org/2001/XMLSchema-instance"}))
    return root, request_of(root)


def resign(element: etree._Element, key: keys.SigningKey) -> None:
    """The SignatureValue of ``element``'s signature made again over its (exclusive c14n) SignedInfo as it is now."""
    signature = element[0]
    signed_info = signature.find(ds("SignedInfo"))
    method = signed_info.find(ds("CanonicalizationMethod"))
    algorithm = method.get("Algorithm", "") if method is not None else ""
    assert algorithm.startswith(EXC_C14N), "resign() needs an exclusive SignedInfo"
    payload = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=algorithm.endswith("Comments"))
    if isinstance(key, gost.GostPrivateKey):
        raw = key.sign(gost.streebog256(payload))
    elif isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(payload, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    value = signature.find(ds("SignatureValue"))
    if value is not None:
        value.text = base64.b64encode(raw).decode()
