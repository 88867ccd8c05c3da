"""XMLDSig/XAdES-BES verification for GOST R 34.10-2012 signatures (signxml has no GOST).

Called by ``xades.verify`` after its scope checks (signature first child, a single reference covering
the element by Id with the enveloped transform), on the request element detached from its envelope.
Supports what GIS ZhKKh traffic uses: same-document references (``#Id``), the enveloped-signature
transform, exclusive and inclusive canonicalisation, Streebog-256 (and SHA-2) digests, and the XAdES
SignedProperties with SigningCertificate. Anything else is refused, never skipped.

Canonicalisation of a subtree goes through a detached copy (``tostring`` keeps every in-scope
namespace declaration): libxml2's inclusive c14n of a document subset writes a spurious ``xmlns=""``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from gateway.errors import Code, TrustRefused
from gateway.signing import gost
from gateway.xmlparse import parse_untrusted

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"  # same output as 1.0 without xml:id/xml:base attributes
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
C14N_METHODS = {EXC_C14N: True, C14N_10: False, C14N_11: False}  # URI -> exclusive

DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    gost.DIGEST_URI: gost.streebog256,
    "http://www.w3.org/2001/04/xmlenc#sha256": lambda data: hashlib.sha256(data).digest(),
    "http://www.w3.org/2001/04/xmldsig-more#sha384": lambda data: hashlib.sha384(data).digest(),
    "http://www.w3.org/2001/04/xmlenc#sha512": lambda data: hashlib.sha512(data).digest(),
}


def _ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def _invalid(message: str) -> TrustRefused:
    return TrustRefused(message, code=Code.SIGNATURE_INVALID)


def _detached(element: etree._Element) -> etree._Element:
    return parse_untrusted(etree.tostring(element, with_tail=False))


def canonical(element: etree._Element, algorithm: str) -> bytes:
    if algorithm not in C14N_METHODS:
        raise _invalid(f"canonicalisation {algorithm!r} is not supported")
    # a subtree is detached first so inclusive c14n sees exactly its in-scope namespaces; a copy that is
    # already its own document (the enveloped transform's) needs no second copy
    own = element.getparent() is None and element.getroottree().getroot() is element
    return bytes(etree.tostring(element if own else _detached(element), method="c14n",
                                exclusive=C14N_METHODS[algorithm], with_comments=False))


def _digest(method: etree._Element | None, data: bytes) -> bytes:
    algorithm = method.get("Algorithm") if method is not None else None
    digest = DIGESTS.get(algorithm or "")
    if digest is None:
        raise TrustRefused(f"digest algorithm {algorithm!r} is not accepted", code=Code.ALGORITHM_UNSUPPORTED)
    return digest(data)


def _value(element: etree._Element | None, what: str) -> bytes:
    if element is None or not (element.text or "").strip():
        raise _invalid(f"{what} is missing")
    try:
        return base64.b64decode("".join(element.text.split()), validate=True)
    except ValueError:
        raise _invalid(f"{what} is not base64") from None


def _enveloped_c14n(element: etree._Element, signature_id: str | None, algorithm: str) -> bytes:
    """The enveloped-signature transform, then c14n: our ds:Signature is taken out of the tree in place (its
    tail text kept), the element canonicalised, and the signature put back where it was — no copy of a
    large document for the transform."""
    for candidate in element.iter(_ds("Signature")):
        if signature_id is None or candidate.get("Id") == signature_id:
            break
    else:
        raise _invalid("the enveloped signature is not inside the referenced element")
    parent, previous = candidate.getparent(), candidate.getprevious()
    if parent is None:
        raise _invalid("the enveloped signature cannot be the referenced element itself")
    index, tail = parent.index(candidate), candidate.tail
    before = previous.tail if previous is not None else parent.text
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(candidate)  # lxml's remove keeps the removed element's tail with it
    try:
        return canonical(element, algorithm)
    finally:
        if previous is not None:
            previous.tail = before
        else:
            parent.text = before
        candidate.tail = tail
        parent.insert(index, candidate)


#: every attribute named Id, ID or id without a namespace (``name()`` of a prefixed one carries its prefix):
#: selecting the attributes is ten times faster than testing each element (0.2 against 3.5 ms, 1,000 readings)
_ID_ATTRIBUTES = etree.XPath("//@*[name() = 'Id' or name() = 'ID' or name() = 'id']")


def _identified(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every element carrying an Id (Id, ID or id), by value: one pass over the document for all references."""
    found: dict[str, list[etree._Element]] = {}
    for value in _ID_ATTRIBUTES(root):
        element = value.getparent()
        bucket = found.setdefault(str(value), [])
        if not bucket or bucket[-1] is not element:  # one element with Id="x" and id="x" is one element
            bucket.append(element)
    return found


def _referenced(ids: dict[str, list[etree._Element]], uri: str | None) -> etree._Element:
    if not uri or not uri.startswith("#") or len(uri) < 2:
        raise _invalid(f"reference URI {uri!r} is not a same-document #Id reference")
    found = ids.get(uri[1:], [])
    if len(found) != 1:
        raise _invalid(f"reference {uri} resolves to {len(found)} elements, not exactly one")
    return found[0]


def _reference_data(ids: dict[str, list[etree._Element]], reference: etree._Element,
                    signature_id: str | None) -> bytes:
    transforms = [t.get("Algorithm") or "" for t in reference.iter(_ds("Transform"))]
    target = _referenced(ids, reference.get("URI"))
    unknown = [t for t in transforms if t != ENVELOPED and t not in C14N_METHODS]
    if unknown:
        raise _invalid(f"transform {unknown[0]!r} is not supported")
    c14n = [t for t in transforms if t in C14N_METHODS]
    algorithm = c14n[-1] if c14n else C14N_10
    data = _enveloped_c14n(target, signature_id, algorithm) if ENVELOPED in transforms \
        else canonical(target, algorithm)
    expected = _value(reference.find(_ds("DigestValue")), f"DigestValue of reference {reference.get('URI')}")
    if _digest(reference.find(_ds("DigestMethod")), data) != expected:
        raise _invalid(f"digest mismatch for reference {reference.get('URI')}: the signed data was altered")
    return data


def _check_signing_certificate(signed_properties: etree._Element, certificate: x509.Certificate) -> None:
    cert = signed_properties.find(
        f".//{{{XADES}}}SigningCertificate/{{{XADES}}}Cert/{{{XADES}}}CertDigest")
    if cert is None:
        raise _invalid("xades:SigningCertificate/Cert/CertDigest is missing")
    expected = _value(cert.find(_ds("DigestValue")), "CertDigest/DigestValue")
    if _digest(cert.find(_ds("DigestMethod")), certificate.public_bytes(Encoding.DER)) != expected:
        raise _invalid("xades:SigningCertificate does not name the certificate in KeyInfo")


def verify(root: etree._Element, certificate: x509.Certificate, container_reference: int) -> bytes:
    """Verify the GOST XAdES-BES signature (first child of ``root``); return the container's signed bytes."""
    signature = root[0]
    public_key = gost.public_key_of(certificate)
    if public_key is None:
        raise TrustRefused("a GOST signature needs a GOST R 34.10-2012 certificate in KeyInfo",
                           code=Code.ALGORITHM_UNSUPPORTED)
    signed_info = signature.find(_ds("SignedInfo"))
    assert signed_info is not None  # the caller found SignatureMethod inside it
    method = signed_info.find(_ds("CanonicalizationMethod"))
    signed_info_c14n = canonical(signed_info, method.get("Algorithm", "") if method is not None else "")
    signature_value = _value(signature.find(_ds("SignatureValue")), "SignatureValue")
    if not public_key.verify(gost.streebog256(signed_info_c14n), signature_value):
        raise _invalid("the GOST R 34.10-2012 signature value does not verify with the certificate's key")

    signature_id = signature.get("Id")
    references = signed_info.findall(_ds("Reference"))
    ids = _identified(root)
    signed = [_reference_data(ids, reference, signature_id) for reference in references]
    properties = [r for r in references if r.get("Type") == SIGNED_PROPERTIES_TYPE]
    if len(properties) != 1:
        raise _invalid("a XAdES-BES signature references exactly one xades:SignedProperties")
    signed_properties = _referenced(ids, properties[0].get("URI"))
    if signed_properties.tag != f"{{{XADES}}}SignedProperties":
        raise _invalid("the SignedProperties reference does not point at xades:SignedProperties")
    _check_signing_certificate(signed_properties, certificate)
    return signed[container_reference]
