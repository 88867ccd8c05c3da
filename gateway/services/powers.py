"""Delegated powers: granting, accepting, recalling and renouncing them (``gateway powers``), and what the door
and the worker ask of them (``gateway.domain.powers`` holds the rules).

Every change is one unit of work whose provenance is the operator who recorded it (``Provenance.of_operator``,
naming the organisation the change is about) and one audit entry (``gateway.registry.audit``) in the same
transaction, so a change and its record stand or fall together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gateway.domain.powers import Function, Power, PowerState, grant_refusal, transition_refusal
from gateway.domain.values import Guid
from gateway.errors import Code, PowerRefused
from gateway.registry import audit
from gateway.registry.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Actor:
    """Who records a change of a power, and how the audit trail names them."""

    name: str
    kind: str = "os"  # os | console


def grant(uow: UnitOfWork, *, grantor: Guid, holder: Guid, functions: frozenset[Function], starts_on: date,
          ends_on: date | None, now: datetime, actor: Actor, reason: str | None = None) -> Power:
    """A new power in state ``granted``: the holder still has to accept it."""
    uow.powers.lock_grantor(grantor)
    grantor_org, holder_org = uow.organisations.get(grantor), uow.organisations.get(holder)
    for guid, org in ((grantor, grantor_org), (holder, holder_org)):
        if org is None:
            raise PowerRefused(f"organisation {guid} is not registered", code=Code.POWER_PARTIES_INVALID)
    assert grantor_org is not None and holder_org is not None
    refused = grant_refusal(grantor_org, holder_org, functions, starts_on, ends_on, now,
                            granted_by_grantor=uow.powers.granted_by(grantor),
                            held_by_grantor=uow.powers.held_by(grantor))
    if refused is not None:
        raise PowerRefused(refused.text, code=refused.code)
    power = Power(guid=Guid.new(), grantor=grantor, holder=holder, functions=functions, starts_on=starts_on,
                  ends_on=ends_on, state=PowerState.GRANTED, granted_at=now)
    uow.powers.add(power, by=actor.name, reason=reason)
    _audit(uow, "powers.grant", power, actor, now, reason)
    return power


def accept(uow: UnitOfWork, guid: Guid, *, now: datetime, actor: Actor, reason: str | None = None) -> Power:
    """The holder accepts: the power is in force over its period."""
    return _change(uow, guid, PowerState.ACCEPTED, now=now, actor=actor, reason=reason)


def recall(uow: UnitOfWork, guid: Guid, *, now: datetime, actor: Actor, reason: str | None = None) -> Power:
    """The grantor recalls the power: from now on nothing more is accepted or written under it."""
    return _change(uow, guid, PowerState.RECALLED, now=now, actor=actor, reason=reason)


def renounce(uow: UnitOfWork, guid: Guid, *, now: datetime, actor: Actor, reason: str | None = None) -> Power:
    """The holder renounces (or declines) the power: from now on nothing more is accepted or written under it."""
    return _change(uow, guid, PowerState.RENOUNCED, now=now, actor=actor, reason=reason)


def _change(uow: UnitOfWork, guid: Guid, to: PowerState, *, now: datetime, actor: Actor,
            reason: str | None) -> Power:
    power = uow.powers.get(guid)
    if power is None:
        raise PowerRefused(f"no power {guid} is registered", code=Code.POWER_NOT_FOUND)
    uow.powers.lock_grantor(power.grantor)
    if (refused := transition_refusal(power, to, now)) is not None:
        raise PowerRefused(refused.text, code=refused.code)
    changed = uow.powers.change_state(power, to, at=now, by=actor.name, reason=reason)
    action = {PowerState.ACCEPTED: "powers.accept", PowerState.RECALLED: "powers.recall",
              PowerState.RENOUNCED: "powers.renounce"}[to]
    _audit(uow, action, changed, actor, now, reason)
    return changed


def audit_refusal(uow: UnitOfWork, action: str, target: str | None, error: PowerRefused, actor: Actor,
                  now: datetime, detail: dict[str, object]) -> None:
    """Record a refused change in the audit trail (in its own transaction: the change itself rolled back)."""
    audit.record(uow.connection, action=action, target=target, outcome="refused", actor=actor.name,
                 actor_kind=actor.kind, at=now, detail={**detail, "code": str(error.code), "error": error.message})


def _audit(uow: UnitOfWork, action: str, power: Power, actor: Actor, now: datetime, reason: str | None) -> None:
    audit.record(uow.connection, action=action, target=str(power.guid), actor=actor.name, actor_kind=actor.kind,
                 at=now, detail={"grantor": str(power.grantor), "holder": str(power.holder),
                                 "functions": sorted(power.functions), "starts_on": power.starts_on.isoformat(),
                                 "ends_on": power.ends_on.isoformat() if power.ends_on else None,
                                 "state": power.state.value, "version": power.version, "reason": reason})
