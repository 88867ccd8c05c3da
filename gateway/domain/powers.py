"""Delegated powers: an organisation lets another sign its requests (DESIGN §3, Authority: one delegate per power,
with consent, no re-delegation).

Many management companies and HOAs do not sign their own requests: the billing centre or software vendor that
runs their information system does, under a power the organisation granted. GIS ZhKKh carries this in
``base:RequestHeader``: the header names the organisation whose data the request holds (``orgPPAGUID`` /
``SenderID``) and ``IsOperatorSignature=true`` says the signature is the operator's of the information system.

A **power** is registry data, versioned like every other object: its *grantor* (whose data), its *holder* (an
operator or another provider, who signs), the *functions* it covers (by data kind: houses, accounts, devices,
readings, meetings, contracts — ``FUNCTION_OF_OPERATION`` maps every operation to one), its *period* (dates,
inclusive) and its *state*: ``granted`` → ``accepted`` by the holder → ``recalled`` by the grantor or
``renounced`` by the holder; ``expired`` is not a change anyone makes but what a live power becomes when its
last day is over.

**Dates and the zone that governs them.** A power's first and last day are registry dates like a contract's,
and the registry's "today" is the date in UTC+12, the easternmost Russian zone (``authority.EASTERNMOST``). So a
power valid to 31 March is in force until 24:00 on 31 March in UTC+12 (12:00 UTC, 15:00 Moscow time) and is
expired from that instant: the same instant from which the registry dates houses, accounts and devices
1 April, so the door never accepts under a power data the worker would date after its end. The grantor's
own zone was considered and refused: a house's zone is not a power's (one power spans houses in many
zones), and any zone west of UTC+12 would let the door accept, after the power's end, data the registry
already dates the next day.

**The rules.** One holder per function at a time per grantor (periods of live powers for a function do not
overlap); a holder cannot grant what it holds (a power is never passed on); a power carries functions, never
houses: a grantor's house authority is still its own (``authority.refusal``), so a power from an organisation
that does not manage a house gives no one a right to post that house's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from gateway.domain.authority import EASTERNMOST, READ_ONLY_ROLES, today
from gateway.domain.model import Organisation, OrgRole
from gateway.domain.values import Guid
from gateway.errors import Code


class Function(StrEnum):
    """What a power lets its holder sign for, by the kind of data."""

    HOUSES = "houses"
    ACCOUNTS = "accounts"
    DEVICES = "devices"
    READINGS = "readings"
    MEETINGS = "meetings"
    CONTRACTS = "contracts"


#: the function each operation of the gateway needs (``gateway.soap.operations.OPERATIONS`` names)
FUNCTION_OF_OPERATION: dict[str, Function] = {
    "importHouseUOData": Function.HOUSES,
    "exportHouseData": Function.HOUSES,
    "importAccountData": Function.ACCOUNTS,
    "exportAccountData": Function.ACCOUNTS,
    "importMeteringDeviceData": Function.DEVICES,
    "exportMeteringDeviceData": Function.DEVICES,
    "importMeteringDeviceValues": Function.READINGS,
    "exportMeteringDeviceHistory": Function.READINGS,
    "importVotingProtocol": Function.MEETINGS,
    "importVotingMessage": Function.MEETINGS,
    "importOwnerDecision": Function.MEETINGS,
    "exportVotingProtocol": Function.MEETINGS,
    "importContractData": Function.CONTRACTS,
    "importCharterData": Function.CONTRACTS,
    "importSupplyResourceContractData": Function.CONTRACTS,
}


class PowerState(StrEnum):
    GRANTED = "granted"  # by the grantor; the holder has not accepted it yet
    ACCEPTED = "accepted"  # by the holder: in force over its period
    RECALLED = "recalled"  # by the grantor
    RENOUNCED = "renounced"  # by the holder (also: a granted power the holder declined)
    EXPIRED = "expired"  # its last day is over (never stored: a live power becomes it at midnight, UTC+12)


#: states in which a power still binds its function to its holder (for the one-holder and re-delegation rules)
LIVE = frozenset({PowerState.GRANTED, PowerState.ACCEPTED})
#: roles that hold no data of their own to delegate
NOT_GRANTORS = READ_ONLY_ROLES
#: roles that never sign for a provider (a regulator checks providers; it does not act for them)
NOT_HOLDERS = frozenset({OrgRole.REGULATOR})


@dataclass(frozen=True, slots=True)
class Power:
    guid: Guid
    grantor: Guid
    holder: Guid
    functions: frozenset[Function]
    starts_on: date
    ends_on: date | None  # inclusive; None: until recalled or renounced
    state: PowerState  # as stored: granted, accepted, recalled or renounced
    granted_at: datetime
    accepted_at: datetime | None = None
    ended_at: datetime | None = None  # recalled or renounced at
    version: int = 1

    def state_at(self, now: datetime) -> PowerState:
        """The state at ``now``: a live power whose last day is over (in UTC+12) is expired."""
        if self.state in LIVE and self.ends_on is not None and today(now) > self.ends_on:
            return PowerState.EXPIRED
        return self.state

    def in_force(self, now: datetime) -> bool:
        """Accepted, not ended, and ``now`` within its period (dated in UTC+12)."""
        return self.state_at(now) is PowerState.ACCEPTED and self.starts_on <= today(now)

    def covers(self, on: date) -> bool:
        """Whether the power speaks for data dated ``on`` (its period, both ends inclusive)."""
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)

    def overlaps(self, starts_on: date, ends_on: date | None) -> bool:
        return (self.ends_on is None or starts_on <= self.ends_on) and (ends_on is None or self.starts_on <= ends_on)

    @property
    def expires_at(self) -> datetime | None:
        """The instant the power expires: midnight after its last day, in UTC+12."""
        if self.ends_on is None:
            return None
        return datetime.combine(self.ends_on + timedelta(days=1), time(0), EASTERNMOST)

    def describe(self) -> str:
        period = f"{self.starts_on.isoformat()}–{self.ends_on.isoformat() if self.ends_on else '…'}"
        return (f"power {self.guid} from {self.grantor} to {self.holder} for "
                f"{', '.join(sorted(self.functions))}, {period}")


@dataclass(frozen=True, slots=True)
class PowerRefusal:
    code: Code
    text: str

    def __str__(self) -> str:
        return self.text


# -- the door: may the signer sign this operation for the header's organisation? --------------------------------


def door_decision(grantor: Guid, signer: Guid, operation: str, now: datetime,
                  powers: Iterable[Power]) -> Power | PowerRefusal:
    """The power in force under which ``signer`` signs ``operation`` for ``grantor`` at ``now``, or why none.

    ``powers``: every power ``grantor`` granted and every power ``signer`` holds (to see a chain through a
    third organisation, refused as re-delegation). What the door decides is the power's state now; the
    dates the data speak of are the worker's, per object (``authority.refusal``).
    """
    function = FUNCTION_OF_OPERATION.get(operation)
    if function is None:  # the regulators' and the operator's own operations (decrees, compliance reports)
        return PowerRefusal(Code.POWER_FUNCTION_NOT_COVERED, (
            f"{operation} is never sent under a power (IsOperatorSignature): the organisation signs it with "
            "its own certificate"))
    known = list(powers)
    direct = [p for p in known if p.grantor == grantor and p.holder == signer]
    if not direct:
        for onward in known:
            if onward.holder != signer or function not in onward.functions:
                continue
            for first in known:
                if first.grantor == grantor and first.holder == onward.grantor and function in first.functions:
                    return PowerRefusal(Code.POWER_REDELEGATED, (
                        f"organisation {signer} holds {function} from {onward.grantor} (power {onward.guid}), which "
                        f"itself holds it from {grantor} (power {first.guid}): a power is never passed on; "
                        f"{grantor} must grant {signer} a power of its own"))
        return PowerRefusal(Code.POWER_NONE, (
            f"organisation {grantor} has granted organisation {signer}, whose certificate signed this request, "
            "no power (IsOperatorSignature): register one with `gateway powers grant`, or sign with the "
            "organisation's own certificate"))
    covering = [p for p in direct if function in p.functions]
    if not covering:
        held = ", ".join(f"{p.guid} ({', '.join(sorted(p.functions))})" for p in direct)
        return PowerRefusal(Code.POWER_FUNCTION_NOT_COVERED, (
            f"organisation {signer} holds power(s) of {grantor} ({held}) but none for {function}, which "
            f"{operation} needs"))
    in_force = [p for p in covering if p.in_force(now)]
    if in_force:
        return max(in_force, key=lambda p: p.granted_at)
    latest = max(covering, key=lambda p: p.granted_at)
    state = latest.state_at(now)
    if state is PowerState.GRANTED:
        return PowerRefusal(Code.POWER_NOT_ACCEPTED, (
            f"{latest.describe()} is granted but not yet accepted by its holder"))
    if state is PowerState.RECALLED:
        return PowerRefusal(Code.POWER_RECALLED, f"{latest.describe()} was recalled by {grantor} at "
                                                 f"{_moment(latest.ended_at)}")
    if state is PowerState.RENOUNCED:
        return PowerRefusal(Code.POWER_RENOUNCED, f"{latest.describe()} was renounced by {signer} at "
                                                  f"{_moment(latest.ended_at)}")
    if state is PowerState.EXPIRED:
        return PowerRefusal(Code.POWER_EXPIRED, (
            f"{latest.describe()} expired at {_moment(latest.expires_at)} (the end of its last day in UTC+12)"))
    return PowerRefusal(Code.POWER_NOT_YET_VALID, (
        f"{latest.describe()} is in force from {latest.starts_on.isoformat()} (00:00 UTC+12); today is "
        f"{today(now).isoformat()}"))


def processing_refusal(power: Power, operation: str) -> PowerRefusal | None:
    """What the worker checks of the message's power as the registry holds it when the message is processed:
    a recall or renunciation since the door accepted the message ends it for everything not yet written."""
    if power.state is PowerState.RECALLED:
        return PowerRefusal(Code.POWER_RECALLED_SINCE_ACCEPTANCE, (
            f"{power.describe()} was recalled at {_moment(power.ended_at)}, after this message was accepted and "
            "before it was processed: nothing was written"))
    if power.state is PowerState.RENOUNCED:
        return PowerRefusal(Code.POWER_RENOUNCED_SINCE_ACCEPTANCE, (
            f"{power.describe()} was renounced at {_moment(power.ended_at)}, after this message was accepted and "
            "before it was processed: nothing was written"))
    if FUNCTION_OF_OPERATION[operation] not in power.functions:  # functions never change; a guard, not a path
        return PowerRefusal(Code.POWER_FUNCTION_NOT_COVERED, f"{power.describe()} does not cover {operation}")
    return None


# -- granting and ending -----------------------------------------------------------------------------------------


def grant_refusal(grantor: Organisation, holder: Organisation, functions: frozenset[Function], starts_on: date,
                  ends_on: date | None, now: datetime, *, granted_by_grantor: Iterable[Power],
                  held_by_grantor: Iterable[Power]) -> PowerRefusal | None:
    """Why ``grantor`` may not grant ``holder`` this power now, or None."""
    if grantor.guid == holder.guid:
        return PowerRefusal(Code.POWER_PARTIES_INVALID, f"organisation {grantor.guid} cannot grant itself a power")
    if grantor.role in NOT_GRANTORS:
        return PowerRefusal(Code.POWER_PARTIES_INVALID, (
            f"organisation {grantor.guid} is a {grantor.role}: it posts no data of its own, so it has no "
            "function to delegate"))
    if holder.role in NOT_HOLDERS:
        return PowerRefusal(Code.POWER_PARTIES_INVALID, (
            f"organisation {holder.guid} is a {holder.role}: a regulator does not sign for a provider"))
    if not functions:
        return PowerRefusal(Code.VALUE_INVALID, "a power covers at least one function")
    if ends_on is not None and ends_on < starts_on:
        return PowerRefusal(Code.VALUE_INVALID, f"the power ends ({ends_on}) before it starts ({starts_on})")
    if ends_on is not None and ends_on < today(now):
        return PowerRefusal(Code.VALUE_INVALID, (
            f"the power's last day {ends_on} is already over (today is {today(now)} in UTC+12)"))
    for held in held_by_grantor:
        shared = held.functions & functions
        if shared and held.state_at(now) in LIVE and held.overlaps(starts_on, ends_on):
            return PowerRefusal(Code.POWER_REDELEGATION, (
                f"organisation {grantor.guid} holds {', '.join(sorted(shared))} from {held.grantor} "
                f"(power {held.guid}) over this period: a holder cannot grant what it holds"))
    for existing in granted_by_grantor:
        shared = existing.functions & functions
        if shared and existing.state_at(now) in LIVE and existing.overlaps(starts_on, ends_on):
            return PowerRefusal(Code.POWER_CONFLICT, (
                f"organisation {grantor.guid} already gave {', '.join(sorted(shared))} to {existing.holder} over "
                f"an overlapping period ({existing.describe()}, {existing.state_at(now)}): one holder per function "
                "at a time; recall that power first"))
    return None


#: who makes each change, and from which states (as they stand at the moment of the change)
TRANSITIONS: dict[PowerState, tuple[str, frozenset[PowerState]]] = {
    PowerState.ACCEPTED: ("holder", frozenset({PowerState.GRANTED})),
    PowerState.RECALLED: ("grantor", LIVE),
    PowerState.RENOUNCED: ("holder", LIVE),
}


def transition_refusal(power: Power, to: PowerState, now: datetime) -> PowerRefusal | None:
    """Why ``power`` cannot become ``to`` at ``now`` (accept, recall, renounce), or None."""
    rule = TRANSITIONS.get(to)
    if rule is None:
        return PowerRefusal(Code.POWER_TRANSITION_INVALID, f"a power cannot be set to {to}")
    current = power.state_at(now)
    if current not in rule[1]:
        return PowerRefusal(Code.POWER_TRANSITION_INVALID, (
            f"{power.describe()} is {current}: it cannot be {to} "
            f"(only a {' or '.join(sorted(rule[1]))} power can)"))
    return None


def _moment(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else "an unrecorded moment"
