"""importVotingProtocol, importOwnerDecision, exportVotingProtocol (house-management): owners' meetings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from gateway.domain import authority
from gateway.domain.authority import Mandate
from gateway.domain.commands import Unsupported
from gateway.domain.model import Organisation
from gateway.domain.oss import (
    AgendaItem,
    Majority,
    NoticeItem,
    NoticeToImport,
    OwnerDecision,
    ProtocolToImport,
    StoredProtocol,
    VotingNotice,
    tally,
)
from gateway.domain.results import ObjectError, ObjectResult
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue
from gateway.errors import Code
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import preamble

log = logging.getLogger("gateway.oss")

DECISION_TYPE_NSI = 63
_MAJORITY_VALUES = {m.value for m in Majority}


@dataclass(frozen=True, slots=True)
class ProtocolResult:
    result: ObjectResult
    protocol: StoredProtocol | None = None


def _majorities(uow: UnitOfWork, items: tuple[AgendaItem, ...]) -> dict[int, Majority]:
    """Each item's majority from its decision type's NSI 63 value; more than half of the votes cast otherwise."""
    directory = uow.nsi.directory(DECISION_TYPE_NSI)
    majorities = {}
    for item in items:
        found = directory.get(item.decision_type.code) if item.decision_type is not None else None
        if found is not None and found.value in _MAJORITY_VALUES:
            majorities[item.number] = Majority(str(found.value))
    return majorities


def _agenda_refusal(uow: UnitOfWork, items: tuple[AgendaItem, ...] | tuple[NoticeItem, ...]) -> str | None:
    """Why an agenda item's decision type is not in NSI 63, if one is not."""
    for agenda in items:
        if agenda.decision_type is not None and (
                why := uow.nsi.refusal(DECISION_TYPE_NSI, agenda.decision_type, f"item {agenda.number} DecisionsType")):
            return why
    return None


def import_notices(uow: UnitOfWork, sender: Organisation, items: tuple[NoticeToImport | Unsupported,
                                                                       ...], *, message: Guid,
                   now: datetime) -> list[ObjectResult]:
    """Notices of meetings and electronic votes: the house, the agenda, the voting period."""
    results = []
    for item in items:
        transport = item.transport_guid
        if refused := preamble.not_supported(item):
            results.append(ObjectResult.failed(transport, refused.code, refused.description))
            continue
        assert not isinstance(item, Unsupported)
        if isinstance(item.data, InvalidValue):
            results.append(ObjectResult.failed(transport, item.data.code, str(item.data)))
            continue
        refusal = _notice_refusal(uow, sender, item.data, now)
        if isinstance(refusal, ObjectError):
            results.append(ObjectResult.failed(transport, refusal.code, refusal.description))
            continue
        voting = Guid.new()
        with uow.savepoint():
            uow.oss.add_notice(voting, item.data, house_guid=refusal, org=sender.guid, at=now)
        results.append(ObjectResult(transport, guid=voting, update_date=now))
    return results


def _notice_refusal(uow: UnitOfWork, sender: Organisation, notice: VotingNotice, now: datetime) -> ObjectError | Guid:
    """The house's registry GUID if the notice may be posted, else why not."""
    if refused := preamble.only_reads(sender):
        return refused
    house = uow.houses.guid_of(notice.fias_house_guid)
    if house is None:
        return ObjectError(Code.HOUSE_NOT_FOUND, f"no house with FIAS GUID {notice.fias_house_guid} is registered")
    on = notice.notice_date or authority.today(now)
    if denied := authority.refusal(sender, notice.fias_house_guid, on, uow.documents.mandates([notice.fias_house_guid]),
                                "notices of its owners' meetings"):
        return ObjectError(denied.code, denied.text)
    if why := notice.period_refusal():
        return ObjectError(Code.VOTING_PERIOD_INVALID, why)
    if why := _agenda_refusal(uow, notice.items):
        return ObjectError(Code.NSI_UNKNOWN, why)
    return house


def import_protocols(uow: UnitOfWork, sender: Organisation, items: tuple[ProtocolToImport | Unsupported,
                                                                          ...], *, message: Guid,
                     now: datetime) -> list[ProtocolResult]:
    results = []
    for item in items:
        with uow.savepoint():
            results.append(_protocol(uow, sender, item, message=message, now=now))
    return results


def _protocol(uow: UnitOfWork, sender: Organisation, item: ProtocolToImport | Unsupported, *,
              message: Guid, now: datetime) -> ProtocolResult:
    transport = item.transport_guid

    def failed(code: Code, text: str) -> ProtocolResult:
        return ProtocolResult(ObjectResult.failed(transport, code, text))

    if refused := preamble.not_supported(item) or preamble.only_reads(sender):
        return failed(refused.code, refused.description)
    assert not isinstance(item, Unsupported)
    if isinstance(item.data, InvalidValue):
        return failed(item.data.code, str(item.data))
    data = item.data
    house = uow.houses.guid_of(data.fias_house_guid)
    if house is None:
        return failed(Code.HOUSE_NOT_FOUND, f"no house with FIAS GUID {data.fias_house_guid} is registered: "
                                            "the registry counts votes from its premises")
    mandates = uow.documents.mandates([data.fias_house_guid])
    if denied := authority.refusal(sender, data.fias_house_guid, data.date, mandates, "its owners' meeting protocols"):
        return failed(denied.code, denied.text)
    if why := _agenda_refusal(uow, data.items):
        return failed(Code.NSI_UNKNOWN, why)
    announced = uow.oss.notice_house(item.voting_guid)
    if announced is not None and announced != data.fias_house_guid:
        return failed(Code.VALUE_INVALID, f"voting {item.voting_guid} was announced for house {announced}, not "
                                          f"{data.fias_house_guid}")
    if uow.oss.voting_taken(item.voting_guid):
        return failed(Code.VOTING_TAKEN, f"voting {item.voting_guid} already has a protocol; a changed protocol "
                                         "is not supported by this gateway version")
    total = uow.oss.total_votes(house)
    over = [a.number for a in data.items if a.cast > total]
    if over:
        return failed(Code.VOTES_EXCEED_TOTAL, f"items {over}: more votes cast than the house's owners have "
                                               f"({format(total.normalize(), 'f')} m² of premises)")
    counted = tally(data, total, _majorities(uow, data.items))
    stored = uow.oss.add(Guid.new(), item.voting_guid, data, counted, house_guid=house, org=sender.guid, at=now)
    if counted.flags:
        log.warning("event=protocol_flagged protocol=%s flags=%s", stored.guid, ",".join(counted.flags))
    return ProtocolResult(ObjectResult(transport, guid=stored.guid, update_date=now), stored)


def import_decisions(uow: UnitOfWork, sender: Organisation, items: tuple[OwnerDecision | Unsupported, ...],
                     *, message: Guid, now: datetime) -> list[ObjectResult]:
    """Owners' individual decisions (≤ 10,000, XSD), each weighted by the registered area of the premises
    the owner names times the owner's share; the protocol's tally is recomputed once per protocol."""
    results: list[ObjectResult] = []
    touched: dict[Guid, StoredProtocol] = {}
    mandates: dict[FiasHouseGuid, list[Mandate]] = {}
    pending: dict[Guid, tuple[dict[tuple[int, str], dict[str, Decimal]], dict[str, tuple[Guid, Decimal]]]] = {}
    for item in items:
        transport = item.transport_guid
        if refused := preamble.not_supported(item):
            results.append(ObjectResult.failed(transport, refused.code, refused.description))
            continue
        assert not isinstance(item, Unsupported)
        protocol = touched.get(item.protocol_guid) if item.protocol_guid else None
        if protocol is None and item.protocol_guid is not None:
            protocol = uow.oss.get(item.protocol_guid)
        if protocol is None:
            results.append(ObjectResult.failed(transport, Code.PROTOCOL_NOT_FOUND,
                                               f"no protocol {item.protocol_guid} (decisions on a voting message "
                                               "are not supported by this gateway version)"))
            continue
        fias = protocol.data.fias_house_guid
        if fias not in mandates:  # one query per house, not per decision (≤ 10,000 a message)
            mandates[fias] = uow.documents.mandates([fias])
        if denied := authority.refusal(sender, fias, protocol.data.date, mandates[fias], "owners' decisions"):
            results.append(ObjectResult.failed(transport, denied.code, denied.text))
            continue
        if item.question not in {i.number for i in protocol.data.items}:
            results.append(ObjectResult.failed(transport, Code.VALUE_INVALID,
                                               f"protocol {protocol.guid} has no agenda item {item.question}"))
            continue
        touched[protocol.guid] = protocol
        if protocol.guid not in pending:
            pending[protocol.guid] = (uow.oss.decided(protocol.guid)[1],
                                      uow.oss.premises_by_number(protocol.house_guid))
        used, by_number = pending[protocol.guid]
        rows = []
        refusal: tuple[Code, str] | None = None
        for owned in item.premises:
            found = by_number.get(owned.number)
            if found is None:
                refusal = (Code.PREMISES_NOT_FOUND, f"no premises number {owned.number!r} in the protocol's house")
                break
            premises_guid, area = found
            votes = (area * owned.share).quantize(Decimal("0.0001"))
            others = sum((v for o, v in used.get((item.question, str(premises_guid)), {}).items()
                          if o != item.owner), Decimal(0))
            if others + votes > area:
                refusal = (Code.VOTES_EXCEED_TOTAL, f"premises {owned.number}: decisions on item {item.question} "
                                                    f"would carry {format((others + votes).normalize(), 'f')} "
                                                    f"votes, its area is {format(area.normalize(), 'f')} m²")
                break
            rows.append((Guid.new(), item.question, item.owner, premises_guid, votes, item.choice))
        if refusal is not None:
            results.append(ObjectResult.failed(transport, *refusal))
            continue
        uow.oss.record_decisions(protocol.guid, rows, org=sender.guid, message=message)
        for _, question, owner, premises_guid, votes, _ in rows:
            used.setdefault((question, str(premises_guid)), {})[owner] = votes
        results.append(ObjectResult(transport, guid=rows[0][0], update_date=now))
    for protocol in touched.values():
        counted = tally(protocol.data, uow.oss.total_votes(protocol.house_guid),
                        _majorities(uow, protocol.data.items), uow.oss.decided(protocol.guid)[0])
        uow.oss.retally(protocol, counted, at=now)
        if counted.flags:
            log.warning("event=protocol_flagged protocol=%s flags=%s", protocol.guid, ",".join(counted.flags))
    return results


def export_protocols(uow: UnitOfWork, reader: Organisation, *, house: FiasHouseGuid | None, guids: tuple[Guid, ...],
                     votings: tuple[Guid, ...]) -> list[StoredProtocol]:
    """Protocols are public to every organisation with a mandate over the house, and to regulators."""
    found = uow.oss.find(house=house, guids=guids, votings=votings)
    if reader.role in authority.READ_ONLY_ROLES:
        return found
    mandates = uow.documents.mandates({p.data.fias_house_guid for p in found})
    return [p for p in found if p.org == reader.guid or any(
        m.org == reader.guid and m.fias_house_guid == p.data.fias_house_guid for m in mandates)]
