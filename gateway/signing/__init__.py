"""Signing: XAdES-BES signatures over the GIS ZhKKh ``signed-data-container``, and key tooling.

Role: the only package that touches private keys (``keys``) and signature cryptography (``xades`` signs,
``verifier`` verifies every algorithm over one profile: ``profile`` its shape, ``c14n`` canonical XML in the
received document, ``algorithms`` the allow-lists); the trust decision on a verified certificate (``policy``)
is pure logic over what the registry knows. Inputs: lxml elements and PEM files. Outputs: signed elements,
``Verified`` results, ``TrustRefused`` errors with stable codes. Persists nothing.

Public API, two verbs: ``sign(element, key=..., cert=...)`` and ``verify(element) -> Verified``.
"""

from gateway.signing.verifier import Claimed, Verified, claims, signed_bytes, verify
from gateway.signing.xades import Signer, sign

__all__ = ["Claimed", "Signer", "Verified", "claims", "sign", "signed_bytes", "verify"]
