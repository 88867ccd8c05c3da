"""rap (administrative offences) XML: ``ImportDecreesAndDocumentsRequest`` and ``ExportDecreesAndDocumentsRequest``
in, ``getStateResult`` with ``CommonResult`` or ``ExportDecreesAndDocuments`` out (rap/hcs-rap-types.xsd).

Decoding reads what the schema has already checked; a value it cannot take (a date outside the plausible window,
a decree on a natural person) makes that one object's error, never the whole message's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway import ns
from gateway.domain.decrees import (
    Decree,
    DecreeData,
    DecreeToImport,
    ExportDecrees,
    Official,
    ProceduralDocument,
    Reason,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import Guid, InvalidValue, xs_date
from gateway.errors import Code
from gateway.ns import q
from gateway.soap.xmlmap import boolean, child, own_text

RAP = ns.RAP
GETSTATE_VERSION = "11.10.0.2"


def _r(local: str) -> str:
    return q(RAP, local)


def _text(element: etree._Element, local: str) -> str | None:
    return own_text(child(element, local, RAP))


def _required(element: etree._Element, local: str) -> str:
    value = _text(element, local)
    if value is None:
        raise InvalidValue(f"{local} is missing")
    return value


def _nsi(element: etree._Element | None, what: str) -> NsiRef:
    if element is None:
        raise InvalidValue(f"{what} is missing")
    code, guid = own_text(child(element, "Code", ns.NSI_BASE)), own_text(child(element, "GUID", ns.NSI_BASE))
    if not code or not guid:
        raise InvalidValue(f"{what} needs Code and GUID")
    return NsiRef(code, Guid(guid), own_text(child(element, "Name", ns.NSI_BASE)))


def _nsis(element: etree._Element, local: str) -> tuple[NsiRef, ...]:
    return tuple(_nsi(e, local) for e in element.iterchildren(_r(local)))


def _attachments(element: etree._Element) -> tuple[dict[str, str], ...]:
    found = []
    for a in element.iterchildren(_r("Document")):
        attachment = child(a, "Attachment", ns.BASE)
        found.append({"name": own_text(child(a, "Name", ns.BASE)) or "",
                      "description": own_text(child(a, "Description", ns.BASE)) or "",
                      "guid": (own_text(child(attachment, "AttachmentGUID", ns.BASE)) or ""
                               if attachment is not None else ""),
                      "hash": own_text(child(a, "AttachmentHASH", ns.BASE)) or ""})
    return tuple(found)


def _document(element: etree._Element | None, what: str) -> ProceduralDocument:
    if element is None:
        raise InvalidValue(f"{what} is missing")
    return ProceduralDocument(kind=_nsi(child(element, "DocumentKind", RAP), f"{what}/DocumentKind"),
                              name=_required(element, "DocumentName"), number=_required(element, "DocumentNumber"),
                              on=xs_date(_text(element, "DocumentDate"), f"{what}/DocumentDate"),
                              executed=boolean(_text(element, "Executed")), attachments=_attachments(element))


def _period(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    for unit in ("Months", "Years"):
        if (value := _text(element, unit)) is not None:
            return f"{int(value)} {unit.lower()}"
    return None


def _official(element: etree._Element | None) -> Official | None:
    if element is None:
        return None
    return Official(_required(element, "Surname"), _required(element, "FirstName"), _text(element, "Patronymic"),
                    _required(element, "Position"))


def decode_decree_info(info: etree._Element) -> DecreeData:
    offender = child(info, "Offender", RAP)
    assert offender is not None  # the schema requires it
    if child(offender, "Person", RAP) is not None:
        raise InvalidValue("decrees on natural persons are not accepted by this gateway: it holds decrees on "
                           "organisations (and their officials) only", code=Code.NOT_SUPPORTED)
    organisation = child(offender, "Organization", RAP)
    root = own_text(child(organisation, "orgRootEntityGUID", ns.ORGANIZATIONS_REGISTRY_BASE)) \
        if organisation is not None else None
    if not root:
        raise InvalidValue("Offender/Organization/orgRootEntityGUID is missing")
    review = child(info, "ReviewResult", RAP)
    assert review is not None
    proceeding = xs_date(_text(review, "ProceedingDate"), "ProceedingDate")
    paid = _text(review, "FinePaymentDate")
    fine = _text(review, "Fine")
    return DecreeData(
        offender=Guid(root), official=_official(child(offender, "OfficialName", RAP)),
        control_roles=_nsis(offender, "ControlRoleCode"),
        result_kind=_nsi(child(review, "ResultKind", RAP), "ResultKind"),
        document=_document(child(review, "DecreeDocument", RAP), "DecreeDocument"),
        punishment_kinds=_nsis(review, "PunishmentKind"),
        authority=_nsi(child(review, "TakingDecisionAuthority", RAP), "TakingDecisionAuthority"),
        authority_name=_text(review, "TakingDecisionAuthorityName"),
        accepted_by_position=_required(review, "PositionOfAcceptedPerson"),
        violation_objects=_nsis(review, "ViolationObject"), proceeding_date=proceeding,
        fine=Decimal(fine) if fine is not None else None,
        fine_paid_on=xs_date(paid, "FinePaymentDate") if paid is not None else None,
        disqualification=_period(child(review, "DisqualificationPeriod", RAP)),
        suspension=_period(child(review, "AdministrativeSuspensionPeriod", RAP)),
        description=_text(review, "ViolationShortDescription"), taken_action=_text(review, "TakenAction"),
        executed=boolean(_text(review, "Executed")))


def _reason(element: etree._Element | None, document: str, description: str) -> Reason | None:
    if element is None:
        return None
    base = child(element, document, RAP)
    return Reason(_nsi(child(element, "Reason", RAP), "Reason"),
                  _document(base, document) if base is not None else None, _text(element, description))


def _command(item: etree._Element) -> DecreeToImport | InvalidValue:
    transport = Guid.as_sent(_required(item, "TransportGuid"))
    decree_guid = _text(item, "DecreeGuid")
    try:
        guid = Guid(decree_guid) if decree_guid else None
        documents = sum(1 for _ in item.iterchildren(_r("ImportProceduralDocuments")))
        cancel = child(item, "CancelDecree", RAP)
        if cancel is not None:
            return DecreeToImport(transport, guid, cancel=_reason(child(cancel, "CancelReason", RAP),
                                                                  "CancelBaseDocument", "CancelShortDescription"))
        if child(item, "AnnulDecree", RAP) is not None:
            return DecreeToImport(transport, guid, annul=True)
        decree = child(item, "Decree", RAP)
        info = child(decree, "DecreeInfo", RAP) if decree is not None else None
        return DecreeToImport(transport, guid, data=decode_decree_info(info) if info is not None else None,
                              change=_reason(child(item, "ChangeReason", RAP), "ChangeBaseDocument",
                                             "ChangeShortDescription"),
                              procedural_documents=documents)
    except InvalidValue as exc:
        exc.transport_guid = transport  # type: ignore[attr-defined]
        return exc
    except ValueError as exc:
        failed = InvalidValue(str(exc))
        failed.transport_guid = transport  # type: ignore[attr-defined]
        return failed


def decode_import_decrees(request: etree._Element) -> tuple[DecreeToImport | InvalidValue, ...]:
    """Each ``importDecreesAndDocuments`` in order: a command, or the error that object gets."""
    return tuple(_command(item) for item in request.iterchildren(_r("importDecreesAndDocuments")))


def decode_export_decrees(request: etree._Element) -> ExportDecrees:
    guids = tuple(Guid(e.text or "") for e in request.iterchildren(_r("DecreeGUID")))
    start, end = _text(request, "ProceedingDateFrom"), _text(request, "ProceedingDateTo")
    return ExportDecrees(guids, xs_date(start, "ProceedingDateFrom") if start else None,
                         xs_date(end, "ProceedingDateTo") if end else None)


# -- out -------------------------------------------------------------------------------------------------------

def _sub(parent: etree._Element, local: str, value: Any, namespace: str = RAP) -> etree._Element | None:
    if value is None:
        return None
    element = etree.SubElement(parent, q(namespace, local))
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, Decimal):
        element.text = format(value.quantize(Decimal("0.01")), "f")
    elif isinstance(value, date):
        element.text = value.isoformat()
    else:
        element.text = str(value)
    return element


def _nsi_out(parent: etree._Element, local: str, ref: NsiRef) -> None:
    element = etree.SubElement(parent, _r(local))
    _sub(element, "Code", ref.code, ns.NSI_BASE)
    _sub(element, "GUID", ref.guid, ns.NSI_BASE)
    _sub(element, "Name", ref.name, ns.NSI_BASE)


def _org(parent: etree._Element, local: str, guid: Guid) -> None:
    element = etree.SubElement(parent, _r(local))
    _sub(element, "orgRootEntityGUID", guid, ns.ORGANIZATIONS_REGISTRY_BASE)


def _document_out(parent: etree._Element, local: str, document: ProceduralDocument) -> None:
    element = etree.SubElement(parent, _r(local))
    _nsi_out(element, "DocumentKind", document.kind)
    _sub(element, "DocumentName", document.name)
    _sub(element, "DocumentNumber", document.number)
    _sub(element, "DocumentDate", document.on)
    _sub(element, "Executed", document.executed)
    for a in document.attachments:
        attachment = etree.SubElement(element, _r("Document"))
        _sub(attachment, "Name", a["name"], ns.BASE)
        _sub(attachment, "Description", a["description"], ns.BASE)
        inner = etree.SubElement(attachment, q(ns.BASE, "Attachment"))
        _sub(inner, "AttachmentGUID", a["guid"], ns.BASE)
        _sub(attachment, "AttachmentHASH", a["hash"] or None, ns.BASE)


def _period_out(parent: etree._Element, local: str, period: str | None) -> None:
    if period is None:
        return
    amount, unit = period.split()
    element = etree.SubElement(parent, _r(local))
    _sub(element, unit.capitalize(), int(amount))


def _reason_out(parent: etree._Element, local: str, reason: Reason | None, document: str,
                description: str) -> None:
    if reason is None:
        return
    element = etree.SubElement(parent, _r(local))
    _nsi_out(element, "Reason", reason.reason)
    if reason.document is not None:
        _document_out(element, document, reason.document)
    _sub(element, description, reason.description if reason.description is not None
         else ("" if local == "CancelReason" else None))


def encode_export_decree(root: etree._Element, decree: Decree) -> None:
    """One ``ExportDecreesAndDocuments`` (rap:ExportDecreeType)."""
    element = etree.SubElement(root, _r("ExportDecreesAndDocuments"))
    _sub(element, "DecreeGUID", decree.guid)
    _sub(element, "RegistryNumber", decree.registry_number)
    _org(element, "ControlOrganization", decree.regulator)
    data = decree.data
    info = etree.SubElement(element, _r("DecreeInfo"))
    offender = etree.SubElement(info, _r("Offender"))
    _org(offender, "Organization", data.offender)
    if data.official is not None:
        official = etree.SubElement(offender, _r("OfficialName"))
        _sub(official, "Surname", data.official.surname)
        _sub(official, "FirstName", data.official.first_name)
        _sub(official, "Patronymic", data.official.patronymic)
        _sub(official, "Position", data.official.position)
    for ref in data.control_roles:
        _nsi_out(offender, "ControlRoleCode", ref)
    review = etree.SubElement(info, _r("ReviewResult"))
    _nsi_out(review, "ResultKind", data.result_kind)
    _document_out(review, "DecreeDocument", data.document)
    for ref in data.punishment_kinds:
        _nsi_out(review, "PunishmentKind", ref)
    _nsi_out(review, "TakingDecisionAuthority", data.authority)
    _sub(review, "TakingDecisionAuthorityName", data.authority_name)
    _sub(review, "PositionOfAcceptedPerson", data.accepted_by_position)
    _sub(review, "Fine", data.fine)
    _sub(review, "FinePaymentDate", data.fine_paid_on)
    _period_out(review, "DisqualificationPeriod", data.disqualification)
    _period_out(review, "AdministrativeSuspensionPeriod", data.suspension)
    for ref in data.violation_objects:
        _nsi_out(review, "ViolationObject", ref)
    _sub(review, "ProceedingDate", data.proceeding_date)
    _sub(review, "ViolationShortDescription", data.description)
    _sub(review, "TakenAction", data.taken_action)
    _sub(review, "Executed", data.executed)
    _sub(element, "Status", decree.status.value)
    _reason_out(element, "ChangeReason", decree.change, "ChangeBaseDocument", "ChangeShortDescription")
    _reason_out(element, "CancelReason", decree.cancel, "CancelBaseDocument", "CancelShortDescription")
