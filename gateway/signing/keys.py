"""Keys and certificates: the one module that reads private keys, and the test PKI for fixtures/demo.

Test material made here is marked TEST-ONLY in every subject and file name; it proves the plumbing,
never an identity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

from gateway.domain.model import CertificateInfo
from gateway.signing.xades import Signer, SigningKey

#: Russian qualified-certificate subject attributes (Order of FSB No. 795): OGRN and INN of a legal entity.
OID_OGRN = ObjectIdentifier("1.2.643.100.1")
OID_INN_LE = ObjectIdentifier("1.2.643.100.4")


def load_private_key(path: Path, password: bytes | None = None) -> SigningKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: only RSA and ECDSA keys are supported here")
    return key


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_signer(key_path: Path, cert_path: Path) -> Signer:
    """The key and certificate from PEM files; refuses a pair that does not belong together."""
    key, cert = load_private_key(key_path), load_certificate(cert_path)
    pem = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, pem) != cert.public_key().public_bytes(
            serialization.Encoding.DER, pem):
        raise ValueError(f"{cert_path} is not the certificate of the key in {key_path}")
    return Signer(key, cert)


def describe(cert: x509.Certificate) -> CertificateInfo:
    der = cert.public_bytes(serialization.Encoding.DER)
    return CertificateInfo(
        fingerprint=hashlib.sha256(der).hexdigest(),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


def new_key(algorithm: str) -> SigningKey:
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key algorithm {algorithm!r} (rsa, ecdsa)")


@dataclass(frozen=True)
class Issued:
    key: SigningKey
    cert: x509.Certificate


def issue_test_ca(*, now: datetime | None = None) -> Issued:
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dom-gateway TEST-ONLY CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST-ONLY, not a real authority")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def _x520(text: str) -> str:
    """X.520 bounds CN and O at 64 (cryptography counts UTF-8 bytes, so Cyrillic halves the room)."""
    while len(text.encode()) > 64:
        text = text[:-1]
    return text


def issue_test_certificate(
    ca: Issued, *, org_name: str, ogrn: str, inn: str, algorithm: str = "rsa", now: datetime | None = None,
    valid_days: int = 825, not_before: datetime | None = None,
) -> Issued:
    """A signing certificate for an organisation, issued by the test CA."""
    now = now or datetime.now(UTC)
    key = new_key(algorithm)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, _x520(f"TEST-ONLY {org_name}")),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _x520(org_name)),
        x509.NameAttribute(OID_OGRN, ogrn),
        x509.NameAttribute(OID_INN_LE, inn),
    ])
    start = not_before or now - timedelta(days=1)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue_test_gateway_certificate(ca: Issued, *, now: datetime | None = None) -> Issued:
    """The gateway's own answer-signing pair (ECDSA P-256), TEST-ONLY."""
    return issue_test_certificate(ca, org_name="dom-gateway answers", ogrn="1027700999017", inn="7709990015",
                                  algorithm="ecdsa", now=now)


def write_pem(issued: Issued, key_path: Path, cert_path: Path) -> None:
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(issued.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
