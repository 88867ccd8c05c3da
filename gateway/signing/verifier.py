"""One verifier for every accepted algorithm — RSA, ECDSA and GOST R 34.10-2012 alike — over the GIS ZhKKh
XAdES-BES profile (``profile``), in the received document (``c14n``), on lxml and cryptography.

Order of the checks: the shape (no cryptography), the signing certificate, the signature over SignedInfo (small:
a forged signature costs the gateway no pass over a large message), the SignedProperties digest and the
certificate it names, and last the request element's digest, whose canonical bytes are what the gateway
processes. Every refusal is a ``TrustRefused`` with a stable code; whether the certificate may speak for the
sender is ``gateway.signing.policy``'s question.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from lxml import etree

from gateway.errors import Code, TrustRefused
from gateway.signing import algorithms, c14n, profile


@dataclass(frozen=True, slots=True)
class Verified:
    """What a valid signature proves: who signed (certificate) and exactly which bytes (canonical)."""

    certificate: x509.Certificate
    fingerprint: str
    signature_method: str
    #: The signed element after the signature's own transforms (signature removed, canonicalised where it stood
    #: in the received document): the only bytes the gateway may process.
    signed_element: bytes
    #: Lower-case hex SHA-256 of the canonical SignedInfo as verified (its CanonicalizationMethod): the same
    #: signed body sent again has the same key, whatever the unsigned envelope around it says.
    replay_key: str
    #: Lower-case hex SHA-256 of ``signed_element`` when its reference's digest is SHA-256 (the DigestValue just
    #: checked, so no second pass over the bytes); None for another digest (Streebog-256, SHA-384/512).
    signed_sha256: str | None = None


def _digest(reference: profile.Reference, data: bytes, what: str) -> None:
    if algorithms.DIGESTS[reference.digest_method](data) != reference.digest_value:
        raise TrustRefused(f"digest mismatch for {what} (reference {reference.uri}): the signed data was altered",
                           code=Code.SIGNATURE_INVALID)


def _signing_certificate(parts: profile.Profile) -> tuple[bytes, x509.Certificate]:
    """The KeyInfo certificate that the SignedProperties name (their digest is checked after the signature)."""
    method, expected = parts.cert_digest
    named = [der for der in parts.certificates if algorithms.DIGESTS[method](der) == expected]
    if not named:
        raise TrustRefused("xades:SigningCertificate does not name a certificate in KeyInfo",
                           code=Code.SIGNATURE_INVALID)
    try:
        return named[0], x509.load_der_x509_certificate(named[0])
    except ValueError as exc:
        raise TrustRefused(f"the X509Certificate in KeyInfo cannot be read: {exc}",
                           code=Code.SIGNATURE_INVALID) from None


def _check_validity(certificate: x509.Certificate) -> None:
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise TrustRefused(f"certificate not valid now (valid {certificate.not_valid_before_utc:%Y-%m-%d} to "
                           f"{certificate.not_valid_after_utc:%Y-%m-%d})", code=Code.CERTIFICATE_NOT_VALID_NOW)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a signature says before anything of it is verified: its shape, the certificate its SignedProperties
    name, and that certificate's fingerprint and the signed element's SHA-256 as the signature gives them (the
    DigestValue, when the reference's digest is SHA-256). ``verify`` proves them or refuses the request."""

    parts: profile.Profile
    certificate: x509.Certificate
    fingerprint: str
    signed_sha256: str | None


def claims(element: etree._Element) -> Claimed:
    """The first two of ``verify``'s checks (the shape, the signing certificate) and what they give, for a
    caller that starts on them before the signature is verified; ``TrustRefused`` as ``verify`` would refuse."""
    parts = profile.read(element)
    der, certificate = _signing_certificate(parts)
    sha256 = parts.container.digest_value.hex() if parts.container.digest_method == algorithms.SHA256 else None
    return Claimed(parts=parts, certificate=certificate, fingerprint=hashlib.sha256(der).hexdigest(),
                   signed_sha256=sha256)


def verify(element: etree._Element, claimed: Claimed | None = None) -> Verified:
    """Verify the enveloped XAdES-BES signature of ``element``, the request element where it stands in the
    received document (for a SOAP request, the child of soap:Body in the parsed envelope). ``claimed``: what
    ``claims`` read of this element's signature, not read again.

    The document is canonicalised in place — the enveloped signature is taken out and put back — so nothing
    may read or change it from another thread meanwhile.
    """
    claimed = claimed or claims(element)
    parts, certificate = claimed.parts, claimed.certificate
    signed_info = c14n.canonical(parts.signed_info, parts.c14n)
    algorithms.check_signature(parts.method, certificate, signed_info, parts.signature_value)
    _digest(parts.properties, c14n.canonical(parts.signed_properties, parts.properties.c14n),
            "xades:SignedProperties")
    signed = c14n.enveloped(element, parts.signature, parts.container.c14n)
    _digest(parts.container, signed, "the signed element")
    _check_validity(certificate)
    return Verified(certificate=certificate, fingerprint=claimed.fingerprint,
                    signature_method=parts.method.uri, signed_element=signed,
                    replay_key=hashlib.sha256(signed_info).hexdigest(), signed_sha256=claimed.signed_sha256)


def signed_bytes(element: etree._Element) -> bytes:
    """The bytes ``verify`` gives as ``signed_element`` for ``element`` — its signature's transforms applied
    where it stands — without verifying anything again: for the worker, which takes a verified request's element
    from the stored envelope (and checks the bytes against the digest the door stored)."""
    parts = profile.read(element)
    return c14n.enveloped(element, parts.signature, parts.container.c14n)
