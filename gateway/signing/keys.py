"""Keys and certificates: the one module that reads private keys, and the test PKI for fixtures/demo.

Test material made here is marked TEST-ONLY in every subject and file name; it proves the plumbing,
never an identity.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier
from pyasn1.codec.der import decoder, encoder
from pyasn1.type import univ
from pyasn1_modules import rfc5208, rfc5280

from gateway.domain.model import CertificateInfo
from gateway.signing import gost
from gateway.signing.xades import Signer, SigningKey

#: Russian qualified-certificate subject attributes (Order of FSB No. 795): OGRN and INN of a legal entity.
OID_OGRN = ObjectIdentifier("1.2.643.100.1")
OID_INN_LE = ObjectIdentifier("1.2.643.100.4")


_PEM_PRIVATE = "PRIVATE KEY"


def load_private_key(path: Path, password: bytes | None = None) -> SigningKey:
    """A PEM PKCS#8 key: RSA, ECDSA, or GOST R 34.10-2012 256-bit (unencrypted for GOST)."""
    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as not_rsa_or_ec:
        try:
            return _load_gost_private_key(data, path)
        except ValueError:
            # neither reader knows it: report what the standard reader said (wrong password, damaged key…)
            raise ValueError(f"{path}: cannot load the private key: {not_rsa_or_ec}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: only RSA, ECDSA and GOST R 34.10-2012 keys are supported")
    return key


def _gost_algorithm(curve: gost.Curve) -> rfc5280.AlgorithmIdentifier:
    params = univ.Sequence()
    params.setComponentByPosition(0, univ.ObjectIdentifier(curve.oid))
    params.setComponentByPosition(1, univ.ObjectIdentifier(gost.OID_STREEBOG_256))
    algorithm = rfc5280.AlgorithmIdentifier()
    algorithm["algorithm"] = univ.ObjectIdentifier(gost.OID_GOST2012_256)
    algorithm["parameters"] = encoder.encode(params)
    return algorithm


def _gost_private_pem(key: gost.GostPrivateKey) -> bytes:
    info = rfc5208.PrivateKeyInfo()
    info["version"] = 0
    info["privateKeyAlgorithm"] = _gost_algorithm(key.curve)
    info["privateKey"] = encoder.encode(univ.OctetString(key.d.to_bytes(32, "little")))
    body = base64.encodebytes(encoder.encode(info)).decode()
    return f"-----BEGIN {_PEM_PRIVATE}-----\n{body}-----END {_PEM_PRIVATE}-----\n".encode()


def _load_gost_private_key(data: bytes, path: Path) -> gost.GostPrivateKey:
    text = data.decode("ascii", "replace")
    begin, end = f"-----BEGIN {_PEM_PRIVATE}-----", f"-----END {_PEM_PRIVATE}-----"
    if begin not in text or end not in text:
        raise ValueError(f"{path}: not a PEM private key")
    der = base64.b64decode(text.split(begin, 1)[1].split(end, 1)[0])
    try:
        info, _ = decoder.decode(der, asn1Spec=rfc5208.PrivateKeyInfo())
        if str(info["privateKeyAlgorithm"]["algorithm"]) != gost.OID_GOST2012_256:
            raise ValueError("not a GOST R 34.10-2012 256-bit key")
        params, _ = decoder.decode(bytes(info["privateKeyAlgorithm"]["parameters"]))
        raw, _ = decoder.decode(bytes(info["privateKey"]), asn1Spec=univ.OctetString())
        return gost.GostPrivateKey(gost.CURVES[str(params[0])], int.from_bytes(bytes(raw), "little"))
    except (KeyError, IndexError, ValueError) as exc:  # pyasn1 errors derive from ValueError-like bases
        raise ValueError(f"{path}: unreadable private key: {exc}") from None


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_signer(key_path: Path, cert_path: Path) -> Signer:
    """The key and certificate from PEM files; refuses a pair that does not belong together."""
    key, cert = load_private_key(key_path), load_certificate(cert_path)
    if not key_matches(key, cert):
        raise ValueError(f"{cert_path} is not the certificate of the key in {key_path}")
    return Signer(key, cert)


def key_matches(key: SigningKey, cert: x509.Certificate) -> bool:
    certified_gost = gost.public_key_of(cert)
    if isinstance(key, gost.GostPrivateKey) or certified_gost is not None:
        return isinstance(key, gost.GostPrivateKey) and certified_gost == key.public_key()
    pem = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(key.public_key().public_bytes(serialization.Encoding.DER, pem)
                == cert.public_key().public_bytes(serialization.Encoding.DER, pem))


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
    if algorithm == "gost":
        return gost.GostPrivateKey.generate()
    raise ValueError(f"unknown key algorithm {algorithm!r} (rsa, ecdsa, gost)")


@dataclass(frozen=True)
class Issued:
    key: SigningKey
    cert: x509.Certificate


def issue_test_ca(*, now: datetime | None = None, valid_days: int = 3650) -> Issued:
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dom-gateway TEST-ONLY CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST-ONLY, not a real authority")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=valid_days))
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
    valid_days: int = 825, not_before: datetime | None = None, key: SigningKey | None = None,
) -> Issued:
    """A signing certificate for an organisation, issued by the test CA (for ``key``, or a new one)."""
    now = now or datetime.now(UTC)
    key = key or new_key(algorithm)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, _x520(f"TEST-ONLY {org_name}")),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _x520(org_name)),
        x509.NameAttribute(OID_OGRN, ogrn),
        x509.NameAttribute(OID_INN_LE, inn),
    ])
    start = not_before or now - timedelta(days=1)
    # cryptography cannot hold a GOST public key: build with a stand-in key, then swap the GOST key in
    stand_in = ec.generate_private_key(ec.SECP256R1()) if isinstance(key, gost.GostPrivateKey) else key
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.cert.subject)
        .public_key(stand_in.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(_ca_key(ca), hashes.SHA256())
    )
    if isinstance(key, gost.GostPrivateKey):
        cert = _with_gost_key(cert, key.public_key(), ca)
    return Issued(key, cert)


def _ca_key(ca: Issued) -> ec.EllipticCurvePrivateKey:
    if not isinstance(ca.key, ec.EllipticCurvePrivateKey):
        raise TypeError("the test CA signs with ECDSA")
    return ca.key


def _with_gost_key(cert: x509.Certificate, public: gost.GostPublicKey, ca: Issued) -> x509.Certificate:
    """``cert`` with its SubjectPublicKeyInfo replaced by a GOST key, re-signed by the (ECDSA) test CA."""
    tbs, _ = decoder.decode(cert.tbs_certificate_bytes, asn1Spec=rfc5280.TBSCertificate())
    spki = rfc5280.SubjectPublicKeyInfo()
    spki["algorithm"] = _gost_algorithm(public.curve)
    spki["subjectPublicKey"] = univ.BitString.fromOctetString(public.encoded())
    tbs["subjectPublicKeyInfo"] = spki
    tbs_der = encoder.encode(tbs)
    whole = rfc5280.Certificate()
    whole["tbsCertificate"] = tbs
    whole["signatureAlgorithm"] = tbs["signature"]
    whole["signature"] = univ.BitString.fromOctetString(_ca_key(ca).sign(tbs_der, ec.ECDSA(hashes.SHA256())))
    return x509.load_der_x509_certificate(encoder.encode(whole))


def issue_test_gateway_certificate(ca: Issued, *, now: datetime | None = None) -> Issued:
    """The gateway's own answer-signing pair, TEST-ONLY: GOST R 34.10-2012, as GIS ZhKKh signs its answers."""
    return issue_test_certificate(ca, org_name="dom-gateway answers", ogrn="1027700999017", inn="7709990015",
                                  algorithm="gost", now=now)


def write_pem(issued: Issued, key_path: Path, cert_path: Path) -> None:
    key_path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(issued.key, gost.GostPrivateKey):
        key_path.write_bytes(_gost_private_pem(issued.key))
    else:
        key_path.write_bytes(issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
