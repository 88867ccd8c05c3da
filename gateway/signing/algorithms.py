"""The allow-lists of the verification profile and the signature-value check for each accepted algorithm.

Everything the gateway accepts is named here, by URI; anything else is refused with ``ALGORITHM_UNSUPPORTED``,
never skipped. Canonicalisation: Exclusive XML-C14N 1.0 and Canonical XML 1.0 / 1.1, without comments.
Digests: SHA-256/384/512 (RFC 6931) and Streebog-256. Signatures: RSA PKCS#1 v1.5 with SHA-256/384/512
(keys of at least 2048 bits), ECDSA over P-256/P-384/P-521 with SHA-256/384/512 in the XMLDSig encoding
``r || s`` (RFC 4050 §3.3, each half as long as the curve's order), and GOST R 34.10-2012 256-bit over
Streebog-256 (``s || r``, ``gost``). SHA-1, DSA, HMAC, GOST R 34.10-2001 and tc26-256-A are not on the lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gateway.errors import Code, TrustRefused
from gateway.signing import gost

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#: Canonicalisation methods (SignedInfo) and canonicalisation transforms (references) the profile accepts.
C14N_METHODS = frozenset({EXC_C14N, C14N_10, C14N_11})

SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sha384(data: bytes) -> bytes:
    return hashlib.sha384(data).digest()


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    SHA256: _sha256, SHA384: _sha384, SHA512: _sha512, gost.DIGEST_URI: gost.streebog256,
}

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

MIN_RSA_BITS = 2048
CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


@dataclass(frozen=True)
class SignatureMethod:
    uri: str
    family: str  # "rsa", "ecdsa" or "gost"
    hash: hashes.HashAlgorithm | None  # None for GOST: Streebog-256 is part of the GOST method


SIGNATURE_METHODS: dict[str, SignatureMethod] = {m.uri: m for m in (
    SignatureMethod(RSA_SHA256, "rsa", hashes.SHA256()),
    SignatureMethod(RSA_SHA384, "rsa", hashes.SHA384()),
    SignatureMethod(RSA_SHA512, "rsa", hashes.SHA512()),
    SignatureMethod(ECDSA_SHA256, "ecdsa", hashes.SHA256()),
    SignatureMethod(ECDSA_SHA384, "ecdsa", hashes.SHA384()),
    SignatureMethod(ECDSA_SHA512, "ecdsa", hashes.SHA512()),
    SignatureMethod(gost.SIGNATURE_URI, "gost", None),
)}


def _unsupported(message: str) -> TrustRefused:
    return TrustRefused(message, code=Code.ALGORITHM_UNSUPPORTED)


def _invalid(message: str) -> TrustRefused:
    return TrustRefused(message, code=Code.SIGNATURE_INVALID)


def check_signature(method: SignatureMethod, certificate: x509.Certificate, data: bytes, value: bytes) -> None:
    """Refuse unless ``value`` is ``method``'s signature of ``data`` (the canonical SignedInfo) by the key of
    ``certificate``; the key must be of the method's family, size and curve."""
    if method.family == "gost":
        _check_gost(certificate, data, value)
        return
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        raise _unsupported(f"{method.uri} needs an RSA or ECDSA certificate; this one carries another key "
                           "(GOST R 34.10-2012 signs with the GOST method)") from None
    assert method.hash is not None
    try:
        if method.family == "rsa":
            if not isinstance(key, rsa.RSAPublicKey):
                raise _unsupported(f"{method.uri} needs an RSA key, the certificate has {type(key).__name__}")
            if key.key_size < MIN_RSA_BITS:
                raise _unsupported(f"RSA keys of {key.key_size} bits are refused (at least {MIN_RSA_BITS})")
            key.verify(value, data, padding.PKCS1v15(), method.hash)
            return
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise _unsupported(f"{method.uri} needs an ECDSA key, the certificate has {type(key).__name__}")
        if key.curve.name not in CURVES:
            raise _unsupported(f"ECDSA curve {key.curve.name} is refused (P-256, P-384, P-521)")
        size = (key.curve.key_size + 7) // 8
        if len(value) != 2 * size:
            raise _invalid(f"an ECDSA {key.curve.name} SignatureValue is r || s of {2 * size} bytes, "
                           f"not {len(value)}")
        r, s = int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(method.hash))
    except InvalidSignature:
        raise _invalid("the signature value does not verify with the certificate's key") from None


def _check_gost(certificate: x509.Certificate, data: bytes, value: bytes) -> None:
    try:
        key = gost.public_key_of(certificate)
    except gost.GostKeyError as exc:
        raise _unsupported(f"the certificate's GOST key cannot be used: {exc}") from None
    if key is None:
        raise _unsupported("a GOST signature needs a GOST R 34.10-2012 256-bit certificate in KeyInfo")
    if not key.verify(gost.streebog256(data), value):
        raise _invalid("the GOST R 34.10-2012 signature value does not verify with the certificate's key")
