"""importVotingProtocolRequest / importOwnerDecisionRequest → commands; protocols → VotingProtocol exports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from lxml import etree

from gateway import ns
from gateway.domain.commands import Unsupported
from gateway.domain.oss import (
    AgendaItem,
    Attachment,
    Choice,
    Form,
    NoticeItem,
    NoticeToImport,
    OwnedPremises,
    OwnerDecision,
    ProtocolData,
    ProtocolToImport,
    StoredProtocol,
    VotingNotice,
)
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue, plausible, xs_date
from gateway.ns import q
from gateway.soap.xmlmap import decoded, hm, iso, nsi, nsi_out, required, sub, text, transport_guid

IR = ns.INDIVIDUAL_REGISTRY_BASE
MOSCOW = timezone(timedelta(hours=3))


def _attachments(form: etree._Element) -> tuple[Attachment, ...]:
    return tuple(Attachment(required(a, "Name", ns.BASE), required(a, "Description", ns.BASE),
                            Guid(required(a.find(q(ns.BASE, "Attachment")), "AttachmentGUID", ns.BASE)),
                            text(a, "AttachmentHASH", ns.BASE)) for a in form.findall(hm("Attachments")))


def _items(protocol: etree._Element) -> tuple[AgendaItem, ...]:
    items = []
    for index, item in enumerate(protocol.findall(hm("DecisionList")), start=1):
        number = text(item, "QuestionNumber")
        items.append(AgendaItem(
            number=int(number) if number else index, question=required(item, "QuestionName"),
            decision_type=nsi(item, "DecisionsType") if item.find(hm("DecisionsType")) is not None else None,
            agree=Decimal(required(item, "Agree")), against=Decimal(required(item, "Against")),
            abstain=Decimal(required(item, "Abstent")), declared_made=required(item, "votingResume") == "M"))
    return tuple(items)


def _protocol(protocol: etree._Element) -> ProtocolData:
    house = text(protocol, "FIASHouseGuid")
    if house is None:
        raise InvalidValue("protocols of an organisation's meeting (OrganizationGuid) are not supported")
    form_element = next(protocol.iterchildren(hm("AVoting"), hm("Meeting"), hm("MeetingAVoting")))
    form = Form(etree.QName(form_element).localname)
    return ProtocolData(
        fias_house_guid=FiasHouseGuid(house), number=text(protocol, "ProtocolNum"),
        date=xs_date(required(protocol, "ProtocolDate"), "ProtocolDate"), form=form,
        meeting_type=required(protocol, "MeetingType"), annual=protocol.find(hm("AnnualVoting")) is not None,
        declared_competent=required(protocol, "MeetingEligibility") == "C", items=_items(protocol),
        attachments=_attachments(form_element), place=text(form_element, "VotingPlace"),
        meeting_at=text(form_element, "MeetingDate"), decisions_from=text(form_element, "StartMakingDecisionDate"),
        decisions_to=text(form_element, "EndMakingDecisionDate"),
        resolution_place=text(form_element, "ResolutionPlace"))


def decode_import_protocol(request: etree._Element) -> tuple[ProtocolToImport | Unsupported, ...]:
    """``hm:importVotingProtocolRequest``: one protocol (or its revert, delete, results) per request."""
    transport = transport_guid(request)
    protocol = request.find(hm("Protocol"))
    if protocol is None:
        changed = next((etree.QName(c).localname for c in request if isinstance(c.tag, str)
                        and etree.QName(c).localname in ("Revert", "Delete", "VotingResultsImport")), "?")
        return (Unsupported(transport, changed),)
    return (ProtocolToImport(transport, Guid(required(request, "VotingGUID")), decoded(_protocol, protocol)),)


def _moment(element: etree._Element, local: str) -> datetime | None:
    value = text(element, local)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(f"{local} {value!r} is not a moment") from None
    plausible(moment, local)
    return moment if moment.tzinfo else moment.replace(tzinfo=MOSCOW)  # GIS times without offset are Moscow's


def _notice(message: etree._Element) -> VotingNotice:
    house = text(message, "FIASHouseGUID")
    if house is None:
        raise InvalidValue("notices of an organisation's meeting (OrganizationGuid) are not supported")
    form_element = next(message.iterchildren(hm("AVoting"), hm("Meeting"), hm("MeetingAVoting"), hm("EVoting")))
    form = Form(etree.QName(form_element).localname)
    starts = _moment(form_element, "EVotingDateBegin" if form is Form.ELECTRONIC else "StartMakingDecisionDate")
    ends = _moment(form_element, "EVotingDateEnd" if form is Form.ELECTRONIC else "EndMakingDecisionDate")
    admin = form_element.find(hm("AdminOfGeneralMeeting"))
    administrator = None
    if admin is not None and len(admin):
        person = admin[0]
        names = [text(person, n, IR) for n in ("Surname", "FirstName", "Patronymic")]
        administrator = " ".join(n for n in names if n) or etree.QName(person).localname
    items = []
    for index, item in enumerate(message.findall(hm("DecisionList")), start=1):
        number = text(item, "QuestionNumber")
        items.append(NoticeItem(int(number) if number else index, required(item, "QuestionName"),
                                nsi(item, "DecisionsType") if item.find(hm("DecisionsType")) is not None else None))
    notice_date = text(message, "MessageDate")
    return VotingNotice(
        fias_house_guid=FiasHouseGuid(house), form=form, meeting_type=required(message, "MeetingType"),
        annual=message.find(hm("AnnualVoting")) is not None, items=tuple(items), starts_at=starts, ends_at=ends,
        administrator=administrator, notice_date=xs_date(notice_date, "NoticeDate") if notice_date else None)


def decode_import_notice(request: etree._Element) -> tuple[NoticeToImport | Unsupported, ...]:
    """``hm:importVotingMessageRequest``: one notice (or its refusal or annulment) per request."""
    transport = transport_guid(request)
    message = request.find(hm("VotingMessage"))
    if message is None:
        return (Unsupported(transport, "refusing or annulling a notice (MessageGUID)"),)
    return (NoticeToImport(transport, decoded(_notice, message)),)


def _owner(decision: etree._Element) -> str:
    owner = decision.find(hm("Owner"))
    assert owner is not None  # schema
    person = owner.find(hm("OwnerInd"))
    if person is not None:
        snils = text(person, "SNILS", IR)
        if snils:
            return f"snils:{snils}"
        names = [text(person, n, IR) for n in ("Surname", "FirstName", "Patronymic")]
        return "name:" + " ".join(n for n in names if n)
    org = owner.find(hm("OwnerOrg"))
    root = text(org, "orgRootEntityGUID", ns.ORGANIZATIONS_REGISTRY_BASE) if org is not None else None
    return f"org:{root or text(org, 'orgVersionGUID', ns.ORGANIZATIONS_REGISTRY_BASE)}"


def _premises(decision: etree._Element) -> tuple[OwnedPremises, ...]:
    owned = []
    for details in decision.findall(hm("PropertyDetails")):
        share = Decimal(1)
        size = details.find(hm("ShareSize"))
        kind = details.find(hm("PropertyType"))
        if kind is not None and kind.find(hm("ShareProperty")) is not None:
            if size is None:
                raise InvalidValue("ShareProperty needs ShareSize")
            share = Decimal(required(size, "Numerator")) / Decimal(required(size, "Denumerator"))
            if share > 1:
                raise InvalidValue(f"share {share} of premises {required(details, 'PremisesNum')} is above one")
        owned.append(OwnedPremises(required(details, "PremisesNum"), share))
    return tuple(owned)


_CHOICES = {"OwnerAgree": Choice.AGREE, "OwnerAgainst": Choice.AGAINST, "OwnerAbstent": Choice.ABSTAIN}


def _decision(item: etree._Element) -> OwnerDecision | Unsupported:
    transport = transport_guid(item)
    protocol = text(item, "ProtocolGUID")
    decision = item.find(hm("Decision"))
    if decision is None:
        return Unsupported(transport, "AnnulDecision")
    question = decision.find(hm("QuestionOnDecision"))
    assert question is not None  # schema
    choice = next(_CHOICES[etree.QName(c).localname] for c in question
                  if isinstance(c.tag, str) and etree.QName(c).localname in _CHOICES)
    root = text(item, "RootOwnerDecisionGUID")
    return OwnerDecision(transport, Guid(protocol) if protocol else None, _owner(decision), _premises(decision),
                         int(required(question, "QuestionNumber")), choice, Guid(root) if root else None)


def decode_import_decisions(request: etree._Element) -> tuple[OwnerDecision | Unsupported, ...]:
    """``hm:importOwnerDecisionRequest`` (≤ 10,000 decisions, XSD)."""
    decisions: list[OwnerDecision | Unsupported] = []
    for item in request.findall(hm("OwnerDecision")):
        try:
            decisions.append(_decision(item))
        except (InvalidValue, ValueError) as exc:
            decisions.append(Unsupported(transport_guid(item), f"an unreadable decision ({exc})"))
    return tuple(decisions)


def append_voting_information(common: etree._Element, protocol: StoredProtocol) -> None:
    append_voting_guid(common, protocol.voting_guid)


def append_voting_guid(common: etree._Element, voting: Guid) -> None:
    """``hm:importVotingInformation`` {VotingGUID} inside a CommonResult."""
    sub(etree.SubElement(common, hm("importVotingInformation")), "VotingGUID", voting)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def encode_protocol(parent: etree._Element, protocol: StoredProtocol, votes: dict[int, tuple[Decimal, Decimal,
                                                                                              Decimal]]) -> None:
    """``hm:VotingProtocol``: the protocol with the registry's count — all owners' votes from the registered
    areas, the quorum and each item's outcome as computed (not as declared)."""
    data, tally = protocol.data, protocol.tally
    result = etree.SubElement(parent, hm("VotingProtocol"))
    sub(result, "VotingGUID", protocol.voting_guid)
    sub(result, "ProtocolGUID", protocol.guid)
    sub(result, "ProtocolStatus", "Posted")
    sub(result, "VersionNumber", protocol.version_number)
    sub(result, "LastVersion", True)
    sub(result, "ModificationDate", iso(protocol.updated_at))  # type: ignore[arg-type]
    sub(result, "FIASHouseGuid", data.fias_house_guid)
    sub(result, "ProtocolNum", data.number)
    sub(result, "ProtocolDate", data.date.isoformat())
    form = etree.SubElement(result, hm(data.form.value))
    if data.form is Form.IN_PERSON:
        sub(form, "VotingPlace", data.place)
        sub(form, "MeetingDate", data.meeting_at)
    elif data.form is Form.MIXED:
        sub(form, "MeetingDate", data.meeting_at)
        sub(form, "VotingPlace", data.place)
    if data.form is not Form.IN_PERSON:
        sub(form, "StartMakingDecisionDate", data.decisions_from)
        sub(form, "EndMakingDecisionDate", data.decisions_to)
        sub(form, "ResolutionPlace", data.resolution_place)
    for attachment in data.attachments:
        element = etree.SubElement(form, hm("Attachments"))
        sub(element, "Name", attachment.name, ns.BASE)
        sub(element, "Description", attachment.description, ns.BASE)
        sub(etree.SubElement(element, q(ns.BASE, "Attachment")), "AttachmentGUID", attachment.guid, ns.BASE)
        sub(element, "AttachmentHASH", attachment.sha, ns.BASE)
    sub(result, "MeetingType", data.meeting_type)
    sub(result, "AnnualVoting" if data.annual else "ExtraVoting", True)
    sub(result, "MeetingEligibility", "C" if tally.competent else "N")
    outcome = {r.number: r for r in tally.items}
    for item in data.items:
        element = etree.SubElement(result, hm("DecisionList"))
        sub(element, "QuestionNumber", item.number)
        sub(element, "QuestionName", item.question)
        if item.decision_type is not None:
            nsi_out(element, "DecisionsType", item.decision_type)
        agree, against, abstain = votes.get(item.number, (item.agree, item.against, item.abstain))
        sub(element, "AllOwnersVotesSum", _number(tally.total_votes))
        sub(element, "Agree", _number(agree))
        sub(element, "Against", _number(against))
        sub(element, "Abstent", _number(abstain))
        sub(element, "votingResume", "M" if outcome[item.number].made else "N")
