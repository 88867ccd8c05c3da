"""importContractRequest / importCharterRequest → document commands; stored documents → importContract results."""

from __future__ import annotations

from datetime import date

from lxml import etree

from gateway import ns
from gateway.domain.authority import MandateKind
from gateway.domain.commands import Unsupported
from gateway.domain.contracts import (
    AnnulDocument,
    DocumentCommand,
    DocumentData,
    ManagedHouse,
    MonthDay,
    PlaceDocument,
    ReadingWindow,
    StoredDocument,
    TerminateDocument,
)
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue, xs_date
from gateway.soap.xmlmap import boolean, decoded, hm, nsi, required, sub, text, transport_guid


def _day(element: etree._Element, local: str) -> date:
    return xs_date(required(element, local), local)


def _optional_day(element: etree._Element, local: str) -> date | None:
    value = text(element, local)
    return xs_date(value, local) if value else None


def _houses(placing: etree._Element) -> tuple[ManagedHouse, ...]:
    return tuple(ManagedHouse(transport_guid(o), FiasHouseGuid(required(o, "FIASHouseGuid")), _day(o, "StartDate"),
                              _optional_day(o, "EndDate")) for o in placing.findall(hm("ContractObject")))


def _month_day(element: etree._Element) -> MonthDay:
    """DeviceMeteringsDaySelectionType: Date (1–31) or LastDay, and IsNextMonth."""
    day = text(element, "Date")
    return MonthDay(31 if day is None else int(day), boolean(text(element, "IsNextMonth")) is True)


def _reading_window(placing: etree._Element) -> ReadingWindow | None:
    period = placing.find(f"{hm('DateDetails')}/{hm('PeriodMetering')}")
    if period is None:
        return None
    return ReadingWindow(_month_day(period.find(hm("StartDate"))), _month_day(period.find(hm("EndDate"))))


def _contract(placing: etree._Element) -> DocumentData:
    return DocumentData(kind=MandateKind.CONTRACT, number=required(placing, "DocNum"),
                        signed_on=_day(placing, "SigningDate"), effective_on=_day(placing, "EffectiveDate"),
                        ends_on=_day(placing, "PlanDateComptetion"), base=nsi(placing, "ContractBase"),
                        houses=_houses(placing), reading_window=_reading_window(placing))


def _charter(placing: etree._Element) -> DocumentData:
    on = _day(placing, "Date")
    return DocumentData(kind=MandateKind.CHARTER, number=f"устав от {on.isoformat()}", signed_on=on,
                        effective_on=on, ends_on=None, base=None, houses=_houses(placing),
                        reading_window=_reading_window(placing))


def _command(item: etree._Element, kind: MandateKind) -> DocumentCommand:
    transport = transport_guid(item)
    noun = "Contract" if kind is MandateKind.CONTRACT else "Charter"
    for child in item:
        if not isinstance(child.tag, str) or child.tag == f"{{{ns.BASE}}}TransportGUID":
            continue
        local = etree.QName(child).localname
        if local == f"Placing{noun}":
            return PlaceDocument(transport, decoded(_contract if kind is MandateKind.CONTRACT else _charter, child))
        version = text(child, f"{noun}VersionGUID")
        if local == f"Terminate{noun}" and version:
            reason = (text(child.find(hm("ReasonRef")), "Name", ns.NSI_BASE) if child.find(hm("ReasonRef"))
                      is not None else text(child, "Reason")) or "terminated"
            return TerminateDocument(transport, kind, Guid(version), _day(child, "Terminate"), reason)
        if local == f"Annulment{noun}" and version:
            return AnnulDocument(transport, kind, Guid(version), required(child, "ReasonOfAnnulment"))
        return Unsupported(transport, local)
    return Unsupported(transport, f"an empty {noun}")


def decode_import_contracts(request: etree._Element) -> tuple[DocumentCommand, ...]:
    """``hm:importContractRequest``: ≤ 100 contracts (XSD)."""
    return tuple(_decoded_command(c, MandateKind.CONTRACT) for c in request.findall(hm("Contract")))


def decode_import_charter(request: etree._Element) -> tuple[DocumentCommand, ...]:
    """``hm:importCharterRequest``: one charter per request (XSD)."""
    return (_decoded_command(request, MandateKind.CHARTER),)


def _decoded_command(item: etree._Element, kind: MandateKind) -> DocumentCommand:
    try:
        return _command(item, kind)
    except (InvalidValue, ValueError) as exc:  # a date or GUID the schema let through but we cannot read
        error = exc if isinstance(exc, InvalidValue) else InvalidValue(str(exc))
        return PlaceDocument(transport_guid(item), error)


def _supply(contract: etree._Element) -> DocumentData:
    agreement = contract.find(hm("IsContract"))
    houses = []
    for address in contract.findall(hm("ObjectAddress")):
        pairs = address.findall(hm("Pair"))
        starts = [_day(p, "StartSupplyDate") for p in pairs]
        ends = [_optional_day(p, "EndSupplyDate") for p in pairs]
        houses.append(ManagedHouse(transport_guid(address), FiasHouseGuid(required(address, "FIASHouseGuid")),
                                   min(starts), None if None in ends else max(e for e in ends if e)))
    if not houses:
        raise InvalidValue("a supply contract without ObjectAddress binds no house")
    first = min(h.starts_on for h in houses)
    effective = _optional_day(agreement, "EffectiveDate") if agreement is not None else None
    return DocumentData(
        kind=MandateKind.SUPPLY,
        number=(text(agreement, "ContractNumber") if agreement is not None else None) or "без договора (IsNotContract)",
        signed_on=(_optional_day(agreement, "SigningDate") if agreement is not None else None) or first,
        effective_on=effective or first, ends_on=_optional_day(contract, "ComptetionDate"), base=None,
        houses=tuple(houses))


def decode_import_supply(request: etree._Element) -> tuple[DocumentCommand, ...]:
    """``hm:importSupplyResourceContractRequest`` (≤ 1,000 contracts): the houses each contract supplies."""
    commands: list[DocumentCommand] = []
    for item in request.findall(hm("Contract")):
        transport = transport_guid(item)
        contract = item.find(hm("SupplyResourceContract"))
        if contract is None:
            changed = next((etree.QName(c).localname for c in item if isinstance(c.tag, str)
                            and etree.QName(c).localname not in ("TransportGUID", "ContractGUID",
                                                                 "ContractRootGUID")), "?")
            commands.append(Unsupported(transport, changed))
        elif item.find(hm("ContractRootGUID")) is not None or item.find(hm("ContractGUID")) is not None:
            commands.append(Unsupported(transport, "changing a placed supply contract"))
        else:
            commands.append(PlaceDocument(transport, decoded(_supply, contract)))
    return tuple(commands)


def append_document_result(common: etree._Element, document: StoredDocument) -> None:
    """``hm:importContract`` / ``hm:importCharter`` (importContractResultType) inside a CommonResult."""
    if document.kind is MandateKind.SUPPLY:
        supply = etree.SubElement(common, hm("ImportSupplyResourceContract"))
        sub(supply, "ContractGUID", document.version_guid)
        sub(supply, "ContractRootGUID", document.guid)
        return
    contract = document.kind is MandateKind.CONTRACT
    result = etree.SubElement(common, hm("importContract" if contract else "importCharter"))
    noun = "Contract" if contract else "Charter"
    sub(result, f"{noun}GUID", document.guid)
    sub(result, f"{noun}VersionGUID", document.version_guid)
    sub(result, f"{noun}Status", document.state.value)
    for house, object_version in document.houses:
        managed = etree.SubElement(result, hm("ContractObject"))
        sub(managed, "FIASHouseGuid", house)
        sub(managed, "ManagedObjectStatus", "Annul" if document.state.value == "Annul" else "Approved")
        sub(managed, "ContractObjectVersionGUID", object_version)
    sub(result, "VersionNumber", document.version_number)
