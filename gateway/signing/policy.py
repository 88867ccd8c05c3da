"""Trust decision: may this verified certificate speak for the organisation named in the header?"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.model import CertificateBinding
from gateway.domain.values import Guid
from gateway.errors import Code, TrustRefused


def check_binding(binding: CertificateBinding | None, *, fingerprint: str, sender: Guid, now: datetime) -> None:
    """Refuse unless the certificate is registered to ``sender``, valid at ``now`` and not revoked."""
    if binding is None:
        raise TrustRefused(f"certificate {fingerprint[:16]}… is not registered to any organisation",
                           code=Code.CERTIFICATE_UNKNOWN)
    if binding.revoked_at is not None and binding.revoked_at <= now:
        raise TrustRefused(f"certificate {fingerprint[:16]}… was revoked on {binding.revoked_at:%Y-%m-%d}",
                           code=Code.CERTIFICATE_REVOKED)
    if not binding.not_before <= now <= binding.not_after:
        raise TrustRefused(
            f"certificate {fingerprint[:16]}… is valid from {binding.not_before:%Y-%m-%d} "
            f"to {binding.not_after:%Y-%m-%d}, not at {now:%Y-%m-%d %H:%M}",
            code=Code.CERTIFICATE_NOT_VALID_NOW)
    if binding.org_guid != sender:
        raise TrustRefused(
            f"certificate {fingerprint[:16]}… belongs to organisation {binding.org_guid}, "
            f"not to the sender {sender} named in RequestHeader",
            code=Code.CERTIFICATE_ORG_MISMATCH)
