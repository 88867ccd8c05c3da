"""GOST R 34.10-2012 (256-bit) over Streebog: the curves, and a signature made by libxmlsec."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.signing import gost

VECTOR = Path(__file__).resolve().parents[2] / "fixtures" / "signatures" / "xmlsec" / "enveloped-gost2012-256.xml"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.mark.parametrize("curve", [gost.CRYPTOPRO_A, gost.CRYPTOPRO_B, gost.CRYPTOPRO_C], ids=lambda c: c.name)
def test_parameter_sets_are_curves_with_a_base_point_of_order_q(curve: gost.Curve) -> None:
    assert curve.contains(curve.base)
    assert curve.multiply(curve.q, curve.base) is None
    assert curve.multiply(curve.q - 1, curve.base) == (curve.x, (-curve.y) % curve.p)


def _vector() -> tuple[etree._Element, etree._Element, gost.GostPublicKey, bytes]:
    document = etree.parse(str(VECTOR)).getroot()
    signature = document.find(f"{DS}Signature")
    certificates = [x509.load_der_x509_certificate(base64.b64decode("".join(e.text.split())))
                    for e in signature.iter(f"{DS}X509Certificate")]
    keys = [k for k in map(gost.public_key_of, certificates) if k is not None]
    assert len(keys) == 1 and keys[0].curve is gost.CRYPTOPRO_A  # the leaf; its CAs are RSA
    value = base64.b64decode("".join(signature.findtext(f"{DS}SignatureValue").split()))
    return document, signature, keys[0], value


def _signed_info_c14n(signature: etree._Element) -> bytes:
    signed_info = signature.find(f"{DS}SignedInfo")
    return etree.tostring(etree.fromstring(etree.tostring(signed_info, with_tail=False)), method="c14n")


def test_a_signature_made_by_libxmlsec_with_the_openssl_gost_engine_verifies() -> None:
    _, signature, key, value = _vector()
    assert key.verify(gost.streebog256(_signed_info_c14n(signature)), value)


def test_the_libxmlsec_reference_digest_is_streebog_of_the_canonical_document() -> None:
    document, signature, _, _ = _vector()
    unsigned = etree.fromstring(etree.tostring(document))
    enveloped = unsigned.find(f"{DS}Signature")
    enveloped.getprevious().tail += enveloped.tail  # the enveloped transform keeps the text around it
    unsigned.remove(enveloped)
    expected = base64.b64decode(signature.findtext(f".//{DS}DigestValue"))
    assert gost.streebog256(etree.tostring(unsigned, method="c14n")) == expected


def test_any_flipped_bit_of_the_libxmlsec_signature_fails() -> None:
    _, signature, key, value = _vector()
    digest = gost.streebog256(_signed_info_c14n(signature))
    for position in (0, 31, 32, 63):
        flipped = bytearray(value)
        flipped[position] ^= 0x01
        assert not key.verify(digest, bytes(flipped))
    assert not key.verify(gost.streebog256(_signed_info_c14n(signature) + b" "), value)


@settings(max_examples=15, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([gost.CRYPTOPRO_A, gost.CRYPTOPRO_B, gost.CRYPTOPRO_C]))
def test_what_is_signed_verifies_and_nothing_else_does(message: bytes, curve: gost.Curve) -> None:
    key = gost.GostPrivateKey.generate(curve)
    digest = gost.streebog256(message)
    signature = key.sign(digest)
    assert key.public_key().verify(digest, signature)
    assert not key.public_key().verify(gost.streebog256(message + b"\x00"), signature)
    assert not gost.GostPrivateKey.generate(curve).public_key().verify(digest, signature)


def test_malformed_signatures_and_keys_are_refused() -> None:
    key = gost.GostPrivateKey.generate()
    digest = gost.streebog256(b"x")
    assert not key.public_key().verify(digest, b"\x00" * 64)  # r = s = 0
    assert not key.public_key().verify(digest, key.sign(digest)[:63])
    with pytest.raises(gost.GostKeyError):
        gost.GostPublicKey(gost.CRYPTOPRO_A, 1, 2)  # not on the curve
    with pytest.raises(gost.GostKeyError):
        gost.GostPrivateKey(gost.CRYPTOPRO_A, gost.CRYPTOPRO_A.q)


@settings(max_examples=60)
@given(st.integers(min_value=1), st.sampled_from([gost.CRYPTOPRO_A, gost.CRYPTOPRO_B, gost.CRYPTOPRO_C]))
def test_the_uniform_multiplication_agrees_with_the_plain_one(seed: int, curve: gost.Curve) -> None:
    """multiply_secret (nonces, private keys) gives the same point as multiply, for short and long scalars alike,
    including those lifted by 2q."""
    for k in {seed % (curve.q - 1) + 1, seed % 1000 + 1, curve.q - 1 - seed % 1000}:
        assert curve.multiply_secret(k, curve.base) == curve.multiply(k, curve.base)


def test_the_uniform_multiplication_refuses_what_is_no_secret_scalar() -> None:
    curve = gost.CRYPTOPRO_A
    for k in (0, curve.q, -1):
        with pytest.raises(ValueError, match="1 … q-1"):
            curve.multiply_secret(k, curve.base)


@settings(max_examples=60)
@given(st.integers(min_value=1), st.sampled_from([gost.CRYPTOPRO_A, gost.CRYPTOPRO_B, gost.CRYPTOPRO_C]))
def test_the_fixed_base_comb_agrees_with_the_plain_multiplication(seed: int, curve: gost.Curve) -> None:
    """multiply_base_secret (signing nonces, public keys from private ones) is k·base, for scalars of every size,
    windows of digit 0 and 15 among them."""
    for k in {seed % (curve.q - 1) + 1, seed % 1000 + 1, curve.q - 1 - seed % 1000, seed % 16 + 1,
              16 ** (seed % 64), (16 ** (seed % 63 + 1) - 1) % curve.q or 1}:
        assert curve.multiply_base_secret(k) == curve.multiply(k, curve.base)


def test_the_fixed_base_comb_refuses_what_is_no_secret_scalar() -> None:
    curve = gost.CRYPTOPRO_A
    for k in (0, curve.q, -1):
        with pytest.raises(ValueError, match="1 … q-1"):
            curve.multiply_base_secret(k)
