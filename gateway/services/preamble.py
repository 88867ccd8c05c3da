"""The refusals every import makes of one object before its own rules, worded once for all services."""

from __future__ import annotations

from gateway.domain import authority
from gateway.domain.commands import Unsupported
from gateway.domain.model import Organisation
from gateway.domain.results import ObjectError
from gateway.errors import Code


def not_supported(item: object) -> ObjectError | None:
    """A branch of the official request this gateway version does not process yet (SRV001006)."""
    if isinstance(item, Unsupported):
        return ObjectError(Code.NOT_SUPPORTED, f"{item.what} is not supported by this gateway version")
    return None


def only_reads(sender: Organisation) -> ObjectError | None:
    """A sender whose role only reads (a regulator, the operator) posts nothing (SRV002001)."""
    if authority.may_write(sender):
        return None
    return ObjectError(Code.AUTHORITY_DENIED, f"organisation {sender.guid} ({sender.role}) only reads")
