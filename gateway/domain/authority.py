"""Who may post what (DESIGN §3, Authority).

A management company posts a house's data only while a management contract covers the house; an HOA or a
housing cooperative only while its charter does; a resource supply organisation only for houses under its
supply contracts; a regulator or the operator only reads. Each of those documents lists its houses
(``ContractObject``) with the dates they are managed or supplied from and to; one such line is a
``Mandate``. Authority is always asked for a date: the date the data speak of (a reading's date, an
account's or a device's posting date), so a company that took over a house in March cannot post February's
readings in the previous company's name, and the previous one cannot post April's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from gateway.domain.model import Organisation, OrgRole
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.errors import Code


class MandateKind(StrEnum):
    CONTRACT = "contract"  # management contract (importContractData)
    CHARTER = "charter"  # HOA or cooperative charter (importCharterData)
    SUPPLY = "supply"  # resource supply contract (importSupplyResourceContractData)


#: "Today" for authority and the future-date rule is the date in the easternmost Russian time zone
#: (UTC+12): data a provider dates by its local calendar are never refused as being from tomorrow.
EASTERNMOST = timezone(timedelta(hours=12))


def today(now: datetime) -> date:
    return now.astimezone(EASTERNMOST).date()


#: Roles that post house data through the "UO" (management organisation) operations.
HOUSE_UO_ROLES = frozenset({OrgRole.MANAGEMENT_COMPANY, OrgRole.HOA, OrgRole.HOUSING_COOPERATIVE})
READ_ONLY_ROLES = frozenset({OrgRole.REGULATOR, OrgRole.OPERATOR})

#: Which document gives which role its houses.
MANDATE_OF_ROLE = {
    OrgRole.MANAGEMENT_COMPANY: frozenset({MandateKind.CONTRACT}),
    OrgRole.HOA: frozenset({MandateKind.CHARTER, MandateKind.CONTRACT}),
    OrgRole.HOUSING_COOPERATIVE: frozenset({MandateKind.CHARTER, MandateKind.CONTRACT}),
    OrgRole.RESOURCE_SUPPLY: frozenset({MandateKind.SUPPLY}),
}


@dataclass(frozen=True, slots=True)
class Mandate:
    """One house of one contract, charter or supply contract, with the dates it covers (inclusive)."""

    kind: MandateKind
    org: Guid
    fias_house_guid: FiasHouseGuid
    starts_on: date
    ends_on: date | None
    document: Guid  # the contract's or charter's root GUID

    def covers(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)

    def overlaps(self, starts_on: date, ends_on: date | None) -> bool:
        return (self.ends_on is None or starts_on <= self.ends_on) and (ends_on is None or self.starts_on <= ends_on)


def may_post_house_uo(sender: Organisation) -> bool:
    """importHouseUOData and management accounts are the management organisation's operations."""
    return sender.role in HOUSE_UO_ROLES


def may_write(sender: Organisation) -> bool:
    return sender.role not in READ_ONLY_ROLES


def holds(sender: Organisation, house: FiasHouseGuid, on: date, mandates: Iterable[Mandate]) -> bool:
    """Does ``sender`` have a mandate of its role's kind over ``house`` on ``on``?"""
    kinds = MANDATE_OF_ROLE.get(sender.role, frozenset())
    return any(m.org == sender.guid and m.kind in kinds and m.fias_house_guid == house and m.covers(on)
               for m in mandates)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an object may not be posted: its code and a sentence naming who, what, which house and date."""

    code: Code
    text: str

    def __str__(self) -> str:
        return self.text


def refusal(sender: Organisation, house: FiasHouseGuid, on: date, mandates: Iterable[Mandate],
            what: str) -> Refusal | None:
    """Why ``sender`` may not post ``what`` for ``house`` on ``on``, or None if it may.

    Under a delegated power (``sender.acting_under``) the power must speak for ``on`` (``SRV002005``), and the
    house authority is still the grantor's own: a power carries functions, never houses (``SRV002002``).
    """
    power = sender.acting_under
    if power is not None and not power.covers(on):
        side = "before its first day" if on < power.starts_on else "after its last day"
        return Refusal(Code.POWER_DATE_NOT_COVERED, (
            f"{what} dated {on.isoformat()} is {side}: {power.describe()} does not speak for that date"))
    if holds(sender, house, on, mandates):
        return None
    held_by_others = sorted({str(m.org) for m in mandates if m.fias_house_guid == house and m.covers(on)
                             and m.org != sender.guid})
    document = {OrgRole.RESOURCE_SUPPLY: "resource supply contract"}.get(sender.role,
                                                                         "management contract or charter")
    others = f"; the house is managed or supplied by {', '.join(held_by_others)} then" if held_by_others else ""
    delegated = (f" (signed by {power.holder} under power {power.guid}: a power carries functions, not houses)"
                 if power is not None else "")
    return Refusal(Code.NO_MANDATE, (
        f"organisation {sender.guid} has no {document} covering house {house} on {on.isoformat()}, "
        f"so it may not post {what}{others}{delegated}"))


def conflicting(kind: MandateKind, org: Guid, house: FiasHouseGuid, starts_on: date, ends_on: date | None,
                existing: Iterable[Mandate]) -> Mandate | None:
    """A management mandate of another organisation over the same house and period, if any.

    A house has one manager at a time (one management contract or charter); suppliers may be several
    (one per resource), so supply contracts never conflict with each other here.
    """
    if kind is MandateKind.SUPPLY:
        return None
    for mandate in existing:
        if (mandate.kind is not MandateKind.SUPPLY and mandate.fias_house_guid == house and mandate.org != org
                and mandate.overlaps(starts_on, ends_on)):
            return mandate
    return None
