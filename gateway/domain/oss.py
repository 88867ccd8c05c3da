"""Owners' general meetings (OSS): protocols, individual decisions, and the results the registry computes.

DESIGN §3: every owner has as many votes as square metres of premises owned (times the ownership
share); the meeting is competent (quorum) when owners with more than half of all votes took part; each
agenda item needs its own majority — more than half of the votes cast, more than half of all votes, or
two thirds of all votes (Housing Code art. 46) — set by the item's decision type (NSI 63). Results are
computed by the registry from the registered premises areas, never trusted from the sender: a protocol
whose declared quorum or result contradicts the computed one is accepted but flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue


class Majority(StrEnum):
    """What an item needs, as NSI 63 items carry it in their ``value``."""

    OF_CAST = "cast"  # more than half of the votes cast
    OF_ALL = "all"  # more than half of all owners' votes
    TWO_THIRDS = "two_thirds"  # two thirds of all owners' votes or more


class Form(StrEnum):
    ABSENTEE = "AVoting"
    IN_PERSON = "Meeting"
    MIXED = "MeetingAVoting"
    ELECTRONIC = "EVoting"  # in the system; a notice's form only (protocols are posted for the other three)


#: Housing Code art. 47.1: an electronic vote lasts at least 7 and at most 60 days.
EVOTING_DAYS = (7, 60)


class Choice(StrEnum):
    AGREE = "agree"
    AGAINST = "against"
    ABSTAIN = "abstain"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A protocol scan or paper ballot: identified by its hash, the file itself stays with the sender."""

    name: str
    description: str
    guid: Guid
    sha: str | None


@dataclass(frozen=True, slots=True)
class AgendaItem:
    number: int
    question: str
    decision_type: NsiRef | None
    agree: Decimal
    against: Decimal
    abstain: Decimal
    declared_made: bool  # votingResume M

    @property
    def cast(self) -> Decimal:
        return self.agree + self.against + self.abstain


@dataclass(frozen=True, slots=True)
class ProtocolData:
    fias_house_guid: FiasHouseGuid
    number: str | None
    date: date
    form: Form
    meeting_type: str  # MeetingTypeType
    annual: bool
    declared_competent: bool  # MeetingEligibility C
    items: tuple[AgendaItem, ...]
    attachments: tuple[Attachment, ...] = ()
    place: str | None = None
    #: the form's dates as posted (xs:dateTime text): MeetingDate, StartMakingDecisionDate, EndMakingDecisionDate
    meeting_at: str | None = None
    decisions_from: str | None = None
    decisions_to: str | None = None
    resolution_place: str | None = None

    def __post_init__(self) -> None:
        numbers = [i.number for i in self.items]
        if len(set(numbers)) != len(numbers):
            raise InvalidValue("an agenda item number is repeated")
        for item in self.items:
            if min(item.agree, item.against, item.abstain) < 0:
                raise InvalidValue(f"item {item.number}: votes cannot be negative")


@dataclass(frozen=True, slots=True)
class ItemResult:
    number: int
    majority: Majority
    made: bool
    declared_made: bool


@dataclass(frozen=True, slots=True)
class Tally:
    total_votes: Decimal  # all owners' votes: the registered premises areas
    cast: Decimal
    competent: bool
    items: tuple[ItemResult, ...]
    flags: tuple[str, ...] = field(default=())


def tally(data: ProtocolData, total_votes: Decimal, majorities: dict[int, Majority],
          votes: dict[int, tuple[Decimal, Decimal, Decimal]] | None = None) -> Tally:
    """The meeting's computed quorum and results, and where the declared ones contradict them.

    ``votes`` (item → agree, against, abstain) replaces the declared counts when individual decisions
    were recorded; otherwise the protocol's own counts are tallied against the registered areas.
    """
    counted = {i.number: (votes or {}).get(i.number, (i.agree, i.against, i.abstain)) for i in data.items}
    cast = max((sum(v, Decimal(0)) for v in counted.values()), default=Decimal(0))
    competent = total_votes > 0 and cast * 2 > total_votes
    flags: list[str] = []
    if competent != data.declared_competent:
        flags.append("quorum_contradicts")
    results = []
    for item in data.items:
        agree, against, abstain = counted[item.number]
        majority = majorities.get(item.number, Majority.OF_CAST)
        made = competent and passes(majority, agree, agree + against + abstain, total_votes)
        if made != item.declared_made:
            flags.append(f"item_{item.number}_contradicts")
        if votes is not None and item.number in votes and votes[item.number] != (item.agree, item.against,
                                                                                  item.abstain):
            flags.append(f"item_{item.number}_counts_differ")
        results.append(ItemResult(item.number, majority, made, item.declared_made))
    return Tally(total_votes, cast, competent, tuple(results), tuple(flags))


def passes(majority: Majority, agree: Decimal, cast: Decimal, total: Decimal) -> bool:
    if majority is Majority.OF_CAST:
        return cast > 0 and agree * 2 > cast
    if majority is Majority.OF_ALL:
        return agree * 2 > total
    return agree * 3 >= total * 2


@dataclass(frozen=True, slots=True)
class ProtocolToImport:
    transport_guid: Guid
    voting_guid: Guid
    data: ProtocolData | InvalidValue


@dataclass(frozen=True, slots=True)
class OwnedPremises:
    number: str
    share: Decimal  # 1 for individual or joint property, Numerator/Denumerator for a share


@dataclass(frozen=True, slots=True)
class OwnerDecision:
    transport_guid: Guid
    protocol_guid: Guid | None
    owner: str  # SNILS, or an organisation's root GUID, or the owner's name
    premises: tuple[OwnedPremises, ...]
    question: int
    choice: Choice
    replaces: Guid | None = None


@dataclass(frozen=True, slots=True)
class NoticeItem:
    number: int
    question: str
    decision_type: NsiRef | None


@dataclass(frozen=True, slots=True)
class VotingNotice:
    """importVotingMessage: the notice of a meeting or an electronic vote, with its agenda."""

    fias_house_guid: FiasHouseGuid
    form: Form
    meeting_type: str
    annual: bool
    items: tuple[NoticeItem, ...]
    starts_at: datetime | None = None  # electronic or absentee voting: decisions from … to …
    ends_at: datetime | None = None
    administrator: str | None = None  # who administers an electronic vote (name or organisation)
    notice_date: date | None = None

    def __post_init__(self) -> None:
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise InvalidValue(f"the voting ends ({self.ends_at}) before it starts ({self.starts_at})")

    def period_refusal(self) -> str | None:
        """Why an electronic vote's period breaks art. 47.1 (7–60 days), or None."""
        if self.form is not Form.ELECTRONIC or self.starts_at is None or self.ends_at is None:
            return None
        days = (self.ends_at - self.starts_at).total_seconds() / 86400
        low, high = EVOTING_DAYS
        if not low <= days <= high:
            return f"an electronic vote lasts {low}–{high} days; this one lasts {days:.1f}"
        return None


@dataclass(frozen=True, slots=True)
class NoticeToImport:
    transport_guid: Guid
    data: VotingNotice | InvalidValue


@dataclass(frozen=True, slots=True)
class StoredProtocol:
    guid: Guid
    voting_guid: Guid
    version_number: int
    org: Guid
    house_guid: Guid
    data: ProtocolData
    tally: Tally
    updated_at: object
