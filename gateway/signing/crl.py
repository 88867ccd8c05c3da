"""Certificate revocation lists: read one, check it was signed by the CA it names, list what it revokes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.errors import Code, GatewayError


class CrlRefused(GatewayError, ValueError):
    """The CRL cannot be trusted or read; nothing is imported from it (``gateway keys crl``: exit 1)."""

    code = Code.COMMAND_REFUSED


@dataclass(frozen=True)
class Revocation:
    issuer: str  # RFC 4514, as the registry stores certificate issuers
    serial: str  # lower-case hex, as the registry stores serials
    revoked_at: datetime


def read(data: bytes, issuer: x509.Certificate) -> list[Revocation]:
    """The revocations in a PEM or DER CRL, after checking it was issued and signed by ``issuer``."""
    try:
        crl = (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----BEGIN")
               else x509.load_der_x509_crl(data))
    except ValueError as exc:
        raise CrlRefused(f"not a CRL: {exc}") from None
    if crl.issuer != issuer.subject:
        raise CrlRefused(f"the CRL is issued by {crl.issuer.rfc4514_string()}, "
                         f"not by {issuer.subject.rfc4514_string()}")
    key = issuer.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not crl.is_signature_valid(key):
        raise CrlRefused("the CRL's signature does not verify with the issuer's key")
    name = crl.issuer.rfc4514_string()
    return [Revocation(name, format(entry.serial_number, "x"), entry.revocation_date_utc) for entry in crl]
