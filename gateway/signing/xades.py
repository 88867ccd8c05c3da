"""XAdES-BES enveloped signatures the way GIS ZhKKh traffic carries them (DESIGN §5, Signature): the signer.

Shape: ``ds:Signature`` is the first child of the signed element (``Id="signed-data-container"``), with
two references: the element itself (enveloped-signature + exclusive c14n) and the
``xades:SignedProperties`` (exclusive c14n), SigningTime and SigningCertificate (digest + issuer/serial).
Algorithms: RSA and ECDSA with SHA-256, GOST R 34.10-2012 with Streebog-256 (the official system's).
Verification of all three is ``verifier``'s, over the same profile.

Written on lxml's canonicalisation because signxml 5.2.0's XAdES signer writes a wrong SignedProperties
digest with exclusive c14n. The digests are computed where the element stands (``c14n``): a signature made
with inclusive c14n inside an envelope holds for that envelope, as the verifier sees it.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from gateway.ns import DS, XADES
from gateway.signing import c14n as canonical_xml
from gateway.signing import gost
from gateway.signing.algorithms import C14N_METHODS, DIGESTS, ECDSA_SHA256, ENVELOPED, EXC_C14N, RSA_SHA256, SHA256
from gateway.signing.profile import SIGNED_PROPERTIES_TYPE, ds, xades

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | gost.GostPrivateKey


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _reference(parent: etree._Element, uri: str, transforms: list[str], digest_uri: str,
               ref_type: str | None = None) -> etree._Element:
    reference = etree.SubElement(parent, ds("Reference"), URI=uri)
    if ref_type:
        reference.set("Type", ref_type)
    transforms_el = etree.SubElement(reference, ds("Transforms"))
    for algorithm in transforms:
        etree.SubElement(transforms_el, ds("Transform"), Algorithm=algorithm)
    etree.SubElement(reference, ds("DigestMethod"), Algorithm=digest_uri)
    return etree.SubElement(reference, ds("DigestValue"))


def sign(element: etree._Element, *, key: SigningKey, cert: x509.Certificate,
         signing_time: datetime | None = None, c14n: str = EXC_C14N) -> etree._Element:
    """Sign ``element`` in place with an enveloped XAdES-BES signature; returns the ds:Signature.

    The element must carry an ``Id`` attribute (GIS uses ``signed-data-container``). Any signature
    already there is replaced. ``c14n`` (exclusive by default, as GIS signs) is used for SignedInfo and both
    references; an inclusive signature holds only where the element stands when signed.
    """
    container_id = element.get("Id")
    if not container_id:
        raise ValueError("the element to sign needs an Id attribute (GIS uses 'signed-data-container')")
    if c14n not in C14N_METHODS:
        raise ValueError(f"unknown canonicalisation {c14n!r}")
    for old in element.findall(ds("Signature")):
        element.remove(old)
    if isinstance(key, gost.GostPrivateKey):
        method, digest_uri = gost.SIGNATURE_URI, gost.DIGEST_URI
    elif isinstance(key, rsa.RSAPrivateKey):
        method, digest_uri = RSA_SHA256, SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method, digest_uri = ECDSA_SHA256, SHA256
    else:
        raise TypeError(f"unsupported key type {type(key).__name__}")
    digest = DIGESTS[digest_uri]

    sig_id = f"xmldsig-{uuid.uuid4()}"
    signature = etree.Element(ds("Signature"), Id=sig_id, nsmap={"ds": DS})
    element.insert(0, signature)
    signed_info = etree.SubElement(signature, ds("SignedInfo"))
    etree.SubElement(signed_info, ds("CanonicalizationMethod"), Algorithm=c14n)
    etree.SubElement(signed_info, ds("SignatureMethod"), Algorithm=method)
    container_digest = _reference(signed_info, f"#{container_id}", [ENVELOPED, c14n], digest_uri)
    props_digest = _reference(signed_info, f"#{sig_id}-signedprops", [c14n], digest_uri, SIGNED_PROPERTIES_TYPE)
    signature_value = etree.SubElement(signature, ds("SignatureValue"))
    key_info = etree.SubElement(signature, ds("KeyInfo"))
    der = cert.public_bytes(Encoding.DER)
    etree.SubElement(etree.SubElement(key_info, ds("X509Data")), ds("X509Certificate")).text = _b64(der)

    ds_object = etree.SubElement(signature, ds("Object"))
    qualifying = etree.SubElement(ds_object, xades("QualifyingProperties"), Target=f"#{sig_id}",
                                  nsmap={"xades": XADES})
    signed_props = etree.SubElement(qualifying, xades("SignedProperties"), Id=f"{sig_id}-signedprops")
    sig_props = etree.SubElement(signed_props, xades("SignedSignatureProperties"))
    when = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    etree.SubElement(sig_props, xades("SigningTime")).text = when.isoformat().replace("+00:00", "Z")
    cert_el = etree.SubElement(etree.SubElement(sig_props, xades("SigningCertificate")), xades("Cert"))
    cert_digest = etree.SubElement(cert_el, xades("CertDigest"))
    etree.SubElement(cert_digest, ds("DigestMethod"), Algorithm=digest_uri)
    etree.SubElement(cert_digest, ds("DigestValue")).text = _b64(digest(der))
    issuer_serial = etree.SubElement(cert_el, xades("IssuerSerial"))
    etree.SubElement(issuer_serial, ds("X509IssuerName")).text = cert.issuer.rfc4514_string()
    etree.SubElement(issuer_serial, ds("X509SerialNumber")).text = str(cert.serial_number)

    container_digest.text = _b64(digest(canonical_xml.enveloped(element, signature, c14n)))
    props_digest.text = _b64(digest(canonical_xml.canonical(signed_props, c14n)))
    payload = canonical_xml.canonical(signed_info, c14n)
    if isinstance(key, gost.GostPrivateKey):
        raw = key.sign(gost.streebog256(payload))
    elif isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(payload, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    signature_value.text = base64.b64encode(raw).decode()
    return signature


@dataclass(frozen=True)
class Signer:
    """A key and its certificate, ready to sign: the gateway's own (answers) or a provider's (requests)."""

    key: SigningKey
    cert: x509.Certificate

    def sign(self, element: etree._Element) -> etree._Element:
        return sign(element, key=self.key, cert=self.cert)
