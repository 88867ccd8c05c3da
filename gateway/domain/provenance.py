"""Where a change to the registry came from (DESIGN §3, Versioning): every version of every object names it.

Three sources change what the registry holds: a provider's signed message (the common case), a reconciliation
run that applies a reference register's fact, and an operator — a support engineer correcting data on the
record, with a reason. Each is recorded once per committed change set and referenced by every history row it
wrote, so "who changed this, when, and on what authority" is one join away for any version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.values import Guid


class ProvenanceKind(StrEnum):
    MESSAGE = "message"
    RECONCILIATION = "reconciliation"
    OPERATOR = "operator"
    #: history the registry reconstructed itself (a schema migration from an older layout)
    MIGRATION = "migration"


@dataclass(frozen=True, slots=True)
class Provenance:
    kind: ProvenanceKind
    #: whose data the change is (a message's sender; the organisation an operator acts on, if one)
    org: Guid | None = None
    message: Guid | None = None
    run: str | None = None
    actor: str | None = None
    role: str | None = None
    reason: str | None = None
    #: a message another organisation signed under a delegated power (IsOperatorSignature): the data are
    #: ``org``'s, signed by ``signed_by`` under ``power``
    signed_by: Guid | None = None
    power: Guid | None = None

    def __post_init__(self) -> None:
        if self.kind is ProvenanceKind.MESSAGE and (self.message is None or self.org is None):
            raise ValueError("a message's change names the message and its sender")
        if (self.signed_by is None) != (self.power is None) or (
                self.power is not None and self.kind is not ProvenanceKind.MESSAGE):
            raise ValueError("a message signed under a power names both the signer and the power")
        if self.kind is ProvenanceKind.RECONCILIATION and not self.run:
            raise ValueError("a reconciliation change names its run")
        if self.kind is ProvenanceKind.OPERATOR and not (self.actor and self.reason):
            raise ValueError("an operator's change names who made it and why")

    @classmethod
    def of_message(cls, message: Guid, org: Guid, *, signed_by: Guid | None = None,
                   power: Guid | None = None) -> Provenance:
        """A provider's message: ``org``'s data; signed by ``signed_by`` under ``power`` if another signed it."""
        return cls(ProvenanceKind.MESSAGE, org=org, message=message, signed_by=signed_by, power=power)

    @classmethod
    def of_operator(cls, actor: str, reason: str, *, role: str = "support", org: Guid | None = None) -> Provenance:
        return cls(ProvenanceKind.OPERATOR, org=org, actor=actor, role=role, reason=reason)

    @classmethod
    def of_reconciliation(cls, run: str, reason: str, *, actor: str | None = None) -> Provenance:
        return cls(ProvenanceKind.RECONCILIATION, run=run, actor=actor, reason=reason)

    def describe(self) -> str:
        """One line for logs and CLI listings."""
        if self.kind is ProvenanceKind.MESSAGE:
            under = f", signed by {self.signed_by} under power {self.power}" if self.power else ""
            return f"message {self.message} from {self.org}{under}"
        if self.kind is ProvenanceKind.RECONCILIATION:
            return f"reconciliation run {self.run}" + (f": {self.reason}" if self.reason else "")
        if self.kind is ProvenanceKind.OPERATOR:
            return f"operator {self.actor} ({self.role}): {self.reason}"
        return f"migration: {self.reason or 'history rebuilt'}"
