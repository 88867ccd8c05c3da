"""GOST R 34.10-2012 (256-bit) signatures over GOST R 34.11-2012 (Streebog) digests.

What GIS ZhKKh and most providers' integration software sign with. The hash is native
(``_streebog``, a C extension built at install); the curve arithmetic is Python integers, one scalar
multiplication pair per verification (a few milliseconds), which is small next to canonicalising and
hashing a large message.

Conventions (those of CryptoPro and the OpenSSL GOST engine, checked against a signature made by
libxmlsec with that engine, ``fixtures/signatures/xmlsec``):
- the digest is Streebog output in its natural byte order, read as a *little-endian* integer;
- a signature is ``s || r``, each 32 bytes big-endian;
- a public key in a certificate is an OCTET STRING of ``x || y``, each 32 bytes little-endian, under
  algorithm 1.2.643.7.1.1.1.1 with the curve's parameter-set OID.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pyasn1_modules import rfc5280

from gateway.signing._streebog import digest256 as _digest256

OID_GOST2012_256 = "1.2.643.7.1.1.1.1"
OID_STREEBOG_256 = "1.2.643.7.1.1.2.2"

SIGNATURE_URI = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256"
DIGEST_URI = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256"

Point = tuple[int, int] | None  # None is the point at infinity


def streebog256(data: bytes) -> bytes:
    return _digest256(data)


@dataclass(frozen=True)
class Curve:
    """A short Weierstrass curve y^2 = x^3 + ax + b over GF(p) with a base point of prime order q."""

    name: str
    oid: str
    p: int
    a: int
    b: int
    q: int
    x: int
    y: int

    @property
    def base(self) -> Point:
        return (self.x, self.y)

    def contains(self, point: Point) -> bool:
        if point is None:
            return True
        x, y = point
        return 0 <= x < self.p and 0 <= y < self.p and (y * y - x * x * x - self.a * x - self.b) % self.p == 0

    def add(self, one: Point, other: Point) -> Point:
        if one is None:
            return other
        if other is None:
            return one
        p = self.p
        (x1, y1), (x2, y2) = one, other
        if x1 == x2:
            if (y1 + y2) % p == 0:
                return None
            slope = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, p) % p
        else:
            slope = (y2 - y1) * pow(x2 - x1, -1, p) % p
        x3 = (slope * slope - x1 - x2) % p
        return (x3, (slope * (x1 - x3) - y1) % p)

    # Jacobian coordinates (X, Y, Z) ~ (X/Z², Y/Z³): no modular inversion per step, one at the end.
    # A 1,000-record message's verification spent most of its elliptic-curve time in the ~450 inversions
    # of affine Shamir's trick; in Jacobian form it is one.

    def _double(self, point: tuple[int, int, int]) -> tuple[int, int, int]:
        x, y, z = point
        p = self.p
        if y == 0 or z == 0:
            return (1, 1, 0)
        yy = y * y % p
        s = 4 * x * yy % p
        zz = z * z % p
        m = (3 * x * x + self.a * zz * zz) % p
        x3 = (m * m - 2 * s) % p
        return (x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * y * z % p)

    def _add_affine(self, point: tuple[int, int, int], other: tuple[int, int]) -> tuple[int, int, int]:
        x1, y1, z1 = point
        if z1 == 0:
            return (other[0], other[1], 1)
        p = self.p
        zz = z1 * z1 % p
        h = (other[0] * zz - x1) % p
        r = (other[1] * zz * z1 - y1) % p
        if h == 0:
            return self._double(point) if r == 0 else (1, 1, 0)
        hh = h * h % p
        hhh = h * hh % p
        v = x1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        return (x3, (r * (v - x3) - y1 * hhh) % p, z1 * h % p)

    def _affine(self, point: tuple[int, int, int]) -> Point:
        x, y, z = point
        if z == 0:
            return None
        inverse = pow(z, -1, self.p)
        zz = inverse * inverse % self.p
        return (x * zz % self.p, y * zz * inverse % self.p)

    def multiply(self, k: int, point: Point) -> Point:
        if point is None or k % self.q == 0:
            return None
        result = (1, 1, 0)
        for bit in range(k.bit_length() - 1, -1, -1):
            result = self._double(result)
            if (k >> bit) & 1:
                result = self._add_affine(result, point)
        return self._affine(result)

    def multiply_secret(self, k: int, point: Point) -> Point:
        """k·point for a secret k (a signature's nonce, a private key): the same sequence of operations for
        every k of 1 … q-1.

        ``multiply`` runs as many steps as k has bits and adds only where a bit is set: its time tells the
        nonce's length, and a few hundred signatures with known short nonces give the key away by lattice
        reduction (the Minerva attacks, CVE-2019-15809). Here k is first lifted to k + q or k + 2q, whichever
        has exactly one bit more than q (the same point, q·point being the identity), and every step doubles
        and adds, keeping the sum by selection rather than by a branch. Python's integers are not constant-time
        themselves: this removes the gross leaks, not every one (README, Trust and security).
        """
        if point is None or not 0 < k < self.q:
            raise ValueError("a secret scalar lies in 1 … q-1")
        lifted = k + self.q
        if lifted.bit_length() <= self.q.bit_length():
            lifted += self.q
        result = (point[0], point[1], 1)  # the lifted scalar's top bit
        for bit in range(self.q.bit_length() - 1, -1, -1):
            doubled = self._double(result)
            result = (doubled, self._add_affine(doubled, point))[(lifted >> bit) & 1]
        return self._affine(result)

    def multiply_base_secret(self, k: int) -> Point:
        """k·base for a secret k (a signature's nonce, a private key) from a table made once per curve: the same
        sequence of operations for every k of 1 … q-1, in a quarter of ``multiply_secret``'s time.

        Fixed-base comb, four bits a window (``_BASE_WINDOWS`` of them cover any k < 2^256): window i's table holds
        (j + 1)·16^i·base for j = 0 … 15, so every window adds a point, digit 0 included, and the sum is
        k·base + c·base with c = 16^0 + … + 16^63, which one more addition of −c·base takes away. Always 64 mixed
        additions and no doubling (``multiply_secret``: 257 of each). The digit picks the table entry by index,
        as any table-based implementation does: what Python's integers and lists leak besides is the caveat of
        ``multiply_secret`` too (README, Trust and security).
        """
        if not 0 < k < self.q:
            raise ValueError("a secret scalar lies in 1 … q-1")
        tables, offset = _base_tables(self)
        first = tables[0][k & 0xF]
        result = (first[0], first[1], 1)
        for window in range(1, _BASE_WINDOWS):
            result = self._add_affine(result, tables[window][(k >> (4 * window)) & 0xF])
        return self._affine(self._add_affine(result, offset))

    def combine(self, k1: int, p1: Point, k2: int, p2: Point) -> Point:
        """k1*p1 + k2*p2 in one pass (Shamir's trick): the verification's cost."""
        both = self.add(p1, p2)
        table = {(1, 1): both, (1, 0): p1, (0, 1): p2}
        result = (1, 1, 0)
        for bit in range(max(k1.bit_length(), k2.bit_length()) - 1, -1, -1):
            result = self._double(result)
            addend = table.get(((k1 >> bit) & 1, (k2 >> bit) & 1))
            if addend is not None:
                result = self._add_affine(result, addend)
        return self._affine(result)


#: windows of four bits in ``Curve.multiply_base_secret``: 64 cover every scalar below 2^256 (q < 2^256 for each curve)
_BASE_WINDOWS = 64


@lru_cache(maxsize=8)
def _base_tables(curve: Curve) -> tuple[list[list[tuple[int, int]]], tuple[int, int]]:
    """For ``Curve.multiply_base_secret``: per window i, the affine points (j + 1)·16^i·base for j = 0 … 15, and
    −c·base with c = 16^0 + … + 16^63 (1,024 points, made once per curve: about 17 ms)."""
    assert curve.q.bit_length() <= 4 * _BASE_WINDOWS
    tables: list[list[tuple[int, int]]] = []
    step = (curve.x, curve.y)  # 16^i·base
    for _ in range(_BASE_WINDOWS):
        row = [step]
        while len(row) < 16:
            point = curve.add(row[-1], step)
            assert point is not None  # (j + 1)·16^i is no multiple of the prime q
            row.append(point)
        tables.append(row)
        step = row[15]  # 16·16^i·base
    c = sum(16 ** i for i in range(_BASE_WINDOWS)) % curve.q
    offset = curve.multiply(c, curve.base)
    assert offset is not None
    return tables, (offset[0], (-offset[1]) % curve.p)


def _curve(name: str, oid: str, p: str, b: str, q: str, x: str, y: str) -> Curve:
    prime = int(p, 16)
    return Curve(name, oid, prime, prime - 3, int(b, 16), int(q, 16), int(x, 16), int(y, 16))


# RFC 4357 section 11.4 (CryptoPro parameter sets, also RFC 7836's tc26-256-B/C/D)
CRYPTOPRO_A = _curve(
    "CryptoPro-A", "1.2.643.2.2.35.1",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97", "A6",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893",
    "1", "8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14")
CRYPTOPRO_B = _curve(
    "CryptoPro-B", "1.2.643.2.2.35.2",
    "8000000000000000000000000000000000000000000000000000000000000C99",
    "3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B",
    "800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F",
    "1", "3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC")
CRYPTOPRO_C = _curve(
    "CryptoPro-C", "1.2.643.2.2.35.3",
    "9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B", "805A",
    "9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9",
    "0", "41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67")

#: Parameter-set OIDs to curves; XchA/XchB and tc26-256-B/C/D name the same curves.
CURVES: dict[str, Curve] = {
    "1.2.643.2.2.35.1": CRYPTOPRO_A, "1.2.643.2.2.36.0": CRYPTOPRO_A, "1.2.643.7.1.2.1.1.2": CRYPTOPRO_A,
    "1.2.643.2.2.35.2": CRYPTOPRO_B, "1.2.643.7.1.2.1.1.3": CRYPTOPRO_B,
    "1.2.643.2.2.35.3": CRYPTOPRO_C, "1.2.643.2.2.36.1": CRYPTOPRO_C, "1.2.643.7.1.2.1.1.4": CRYPTOPRO_C,
}


class GostKeyError(ValueError):
    """A GOST key or certificate cannot be used (unknown parameter set, malformed, off the curve)."""


@dataclass(frozen=True)
class GostPublicKey:
    curve: Curve
    x: int
    y: int

    def __post_init__(self) -> None:
        if not self.curve.contains((self.x, self.y)):
            raise GostKeyError("the public key is not a point of its curve")

    def verify(self, digest: bytes, signature: bytes) -> bool:
        """GOST R 34.10-2012 §6.2 over a Streebog-256 ``digest``; ``signature`` is s || r."""
        q = self.curve.q
        if len(signature) != 64:
            return False
        s, r = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        if not (0 < r < q and 0 < s < q):
            return False
        e = int.from_bytes(digest, "little") % q or 1
        v = pow(e, -1, q)
        point = self.curve.combine(s * v % q, self.curve.base, -r * v % q, (self.x, self.y))
        return point is not None and point[0] % q == r

    def encoded(self) -> bytes:
        """The key as a certificate carries it: DER OCTET STRING of x || y, little-endian."""
        raw = self.x.to_bytes(32, "little") + self.y.to_bytes(32, "little")
        return bytes(encoder.encode(univ.OctetString(raw)))


@dataclass(frozen=True)
class GostPrivateKey:
    curve: Curve
    d: int

    def __post_init__(self) -> None:
        if not 0 < self.d < self.curve.q:
            raise GostKeyError("the private key is out of range for its curve")

    @classmethod
    def generate(cls, curve: Curve = CRYPTOPRO_A) -> GostPrivateKey:
        return cls(curve, secrets.randbelow(curve.q - 1) + 1)

    def public_key(self) -> GostPublicKey:
        point = self.curve.multiply_base_secret(self.d)
        assert point is not None
        return GostPublicKey(self.curve, *point)

    def sign(self, digest: bytes) -> bytes:
        """GOST R 34.10-2012 §6.1 over a Streebog-256 ``digest``; returns s || r."""
        q = self.curve.q
        e = int.from_bytes(digest, "little") % q or 1
        while True:
            k = secrets.randbelow(q - 1) + 1
            point = self.curve.multiply_base_secret(k)
            assert point is not None
            r = point[0] % q
            s = (r * self.d + k * e) % q
            if r and s:
                return s.to_bytes(32, "big") + r.to_bytes(32, "big")


@lru_cache(maxsize=512)
def public_key_of(cert: x509.Certificate) -> GostPublicKey | None:
    """The certificate's GOST R 34.10-2012 256-bit key, or None if it carries another algorithm.

    Remembered per certificate (equal DER, equal key; the key is immutable): a provider signs every message
    with the same few certificates, and decoding one with pyasn1 cost ~3 ms of each acknowledgement.
    """
    try:
        decoded, _ = decoder.decode(cert.public_bytes(Encoding.DER), asn1Spec=rfc5280.Certificate())
        spki = decoded["tbsCertificate"]["subjectPublicKeyInfo"]
    except PyAsn1Error as exc:
        raise GostKeyError(f"the certificate cannot be decoded: {exc}") from None
    if str(spki["algorithm"]["algorithm"]) != OID_GOST2012_256:
        return None
    try:
        params, _ = decoder.decode(bytes(spki["algorithm"]["parameters"]))
        curve = CURVES[str(params[0])]
        raw, _ = decoder.decode(spki["subjectPublicKey"].asOctets(), asn1Spec=univ.OctetString())
    except (KeyError, IndexError, TypeError, ValueError, PyAsn1Error) as exc:
        # pyasn1's errors are not ValueErrors: a certificate without parameters must not escape as one
        raise GostKeyError(f"unsupported or malformed GOST key parameters: {exc}") from None
    raw = bytes(raw)
    if len(raw) != 64:
        raise GostKeyError(f"a 256-bit GOST public key has 64 bytes, not {len(raw)}")
    return GostPublicKey(curve, int.from_bytes(raw[:32], "little"), int.from_bytes(raw[32:], "little"))
