"""What the worker does with each operation's stored payload: decode it (``gateway.soap``'s XML mappers), run
the use case (``gateway.services``), and build the getStateResult the provider will fetch.

``PROCESSORS`` has one entry per row of the door's table (``gateway.soap.operations.OPERATIONS``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree

from gateway import metrics, ns
from gateway.domain.authority import MandateKind
from gateway.domain.commands import ExportHouse
from gateway.domain.model import Organisation
from gateway.domain.results import ObjectResult
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue
from gateway.errors import Code, TrustRefused
from gateway.messages.queue import StoredMessage
from gateway.ns import q
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import accounts as account_services
from gateway.services import compliance as compliance_services
from gateway.services import contracts as contract_services
from gateway.services import decrees as decree_services
from gateway.services import houses as house_services
from gateway.services import metering as metering_services
from gateway.services import oss as oss_services
from gateway.signing import signed_bytes
from gateway.soap import (
    accounts_xml,
    compliance_xml,
    contracts_xml,
    devices_xml,
    envelope,
    houses_xml,
    oss_xml,
    rap_xml,
    readings_xml,
    results_xml,
)
from gateway.soap.operations import Endpoint
from gateway.xmlparse import parse_untrusted

Processor = Callable[[UnitOfWork, Organisation, StoredMessage, datetime, Endpoint], etree._Element]


def signed_content(message: StoredMessage) -> etree._Element:
    """The canonical signed element the door verified, parsed: what the worker processes.

    A message accepted since revision 0019 keeps only its envelope and the SHA-256 of those canonical bytes:
    they are made again from the envelope's body element, where the door verified it, by the signature's own
    transforms (``gateway.signing.signed_bytes``: the enveloped signature taken out, canonicalised in place),
    and must have that digest — so the worker reads exactly the bytes the signature covers, as before, and a
    stored envelope that no longer gives them fails the message rather than being processed. (An unsigned
    request, where signatures are not required, is the body element's exclusive canonical form.) Earlier
    messages keep those bytes as their payload.
    """
    if message.payload:
        return parse_untrusted(message.payload)
    if message.request is None or message.payload_sha256 is None:
        raise ValueError(f"message {message.guid} was read without its envelope or digest (queue.claim reads both)")
    element = envelope.split(parse_untrusted(message.request)).body
    candidates: list[Callable[[], bytes]] = [
        lambda: signed_bytes(element),
        lambda: bytes(etree.tostring(element, method="c14n", exclusive=True, with_comments=False))]
    for make in candidates:
        try:
            canonical = make()
        except TrustRefused:  # no signature of the profile's shape: the request was accepted unsigned
            continue
        if hashlib.sha256(canonical).hexdigest() == message.payload_sha256:
            return parse_untrusted(canonical)
    raise StoredMessageAltered(f"message {message.guid}: its stored envelope no longer gives the signed element "
                               "accepted (SHA-256 differs); not processed — check the archive (gateway archive "
                               "verify)")


class StoredMessageAltered(ValueError):
    """A stored envelope does not give back the signed element the door accepted. ``permanent``: another
    attempt reads the same bytes, so the worker dead-letters the message at once instead of retrying it."""

    permanent = True


def _import_result(endpoint: Endpoint, message: StoredMessage) -> tuple[etree._Element, etree._Element]:
    """A processed getStateResult and its ImportResult, ready for CommonResults."""
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    import_result = etree.SubElement(root, q(endpoint.types_ns, "ImportResult"))
    import_result.set(q(ns.BASE, "version"), endpoint.import_result_version)
    return root, import_result


def _results_of(item: object) -> ObjectResult:
    return item if isinstance(item, ObjectResult) else item.result  # type: ignore[attr-defined]


def count_on_commit(uow: UnitOfWork, counter: Any, counts: dict[tuple[str, ...], int]) -> None:
    """Add ``counts`` (labels → amount) to a Prometheus counter once the processing transaction commits: a
    transaction rolled back (a lost lease, a failure to be retried) wrote nothing and counts nothing."""
    def add() -> None:
        for labels, amount in counts.items():
            counter.labels(*labels).inc(amount)

    uow.after_commit(add)


def _importer(decode: Callable[[etree._Element], Any], run: Callable[..., Any],
              extra: Callable[[UnitOfWork, etree._Element, Any], None] | None = None) -> Processor:
    """An import operation: decode the stored payload, run the use case, answer ``ImportResult`` with one
    ``CommonResult`` per object, to which ``extra`` adds the operation's own element (ImportAccount, …)."""
    def process(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                endpoint: Endpoint) -> etree._Element:
        items = run(uow, sender, decode(signed_content(message)), message=message.guid, now=now)
        root, import_result = _import_result(endpoint, message)
        commons = results_xml.append_common_results(import_result, endpoint.types_ns, map(_results_of, items))
        if extra is not None:
            for common, item in zip(commons, items, strict=True):
                extra(uow, common, item)
        return root

    return process


def _account_numbers(_uow: UnitOfWork, common: etree._Element, item: account_services.AccountResult) -> None:
    if item.unified_number and item.service_id:
        accounts_xml.append_import_account(common, item.unified_number, item.service_id)


def _document(_uow: UnitOfWork, common: etree._Element, item: contract_services.DocumentResult) -> None:
    if item.document is not None:
        contracts_xml.append_document_result(common, item.document)


def _device(_uow: UnitOfWork, common: etree._Element, item: metering_services.DeviceResult) -> None:
    if item.device is not None:
        devices_xml.append_import_device(common, item.device)


def _voting(uow: UnitOfWork, common: etree._Element, item: oss_services.ProtocolResult | ObjectResult) -> None:
    if isinstance(item, ObjectResult):  # a notice: its GUID is the voting's
        if item.ok and item.guid is not None:
            oss_xml.append_voting_guid(common, item.guid)
    elif item.protocol is not None:
        oss_xml.append_voting_information(common, item.protocol)
        if item.protocol.tally.flags:
            uow.after_commit(metrics.PROTOCOL_FLAGS.inc)


def _documents(kind: MandateKind) -> Callable[..., Any]:
    def run(uow: UnitOfWork, sender: Organisation, commands: Any, *, message: Any, now: datetime) -> Any:
        return contract_services.import_documents(uow, sender, kind, commands, message=message, now=now)

    return run


def _export_accounts(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                     endpoint: Endpoint) -> etree._Element:
    command = accounts_xml.decode_export_accounts(signed_content(message))
    found = account_services.export_accounts(uow, sender, command)
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    if not found:
        results_xml.append_error_message(root, Code.ACCOUNT_NOT_FOUND,
                                         "no account you may see matches the request")
    for account in found:
        accounts_xml.encode_export_account(root, account)
    return root


def _export_house(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                  endpoint: Endpoint) -> etree._Element:
    request = signed_content(message)
    fias = FiasHouseGuid(request.findtext(q(ns.HM, "FIASHouseGuid")) or "")
    house = house_services.export_house(uow, sender, ExportHouse(fias))
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    if house is None:
        results_xml.append_error_message(root, Code.HOUSE_NOT_FOUND, f"no house with FIAS GUID {fias} is registered")
    else:
        houses_xml.encode_export_house(root, house)
    return root


def _export_devices(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                    endpoint: Endpoint) -> etree._Element:
    query = devices_xml.decode_export_devices(signed_content(message))
    found = metering_services.export_devices(uow, sender, query, now)
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    if not found:
        results_xml.append_error_message(root, Code.DEVICE_NOT_FOUND, "no metering device you may see matches")
    for device in found:
        devices_xml.encode_export_device(root, device)
    return root


def _import_readings(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                     endpoint: Endpoint) -> etree._Element:
    command = readings_xml.decode_import_readings(signed_content(message))
    outcome = metering_services.import_readings(uow, sender, command, message=message.guid, now=now)
    count_on_commit(uow, metrics.READING_FLAGS, {(flag,): n for flag, n in outcome.flagged.items()})
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    results_xml.append_common_results(root, endpoint.types_ns, outcome.results, element="ImportResult")
    return root


def _export_history(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                    endpoint: Endpoint) -> etree._Element:
    query = readings_xml.decode_export_history(signed_content(message))
    found = metering_services.export_history(uow, sender, query, now)
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    if not found:
        results_xml.append_error_message(root, Code.DEVICE_NOT_FOUND, "no metering device you may see matches")
    for device, readings in found:
        readings_xml.encode_history(root, device, readings)
    return root


def _export_protocols(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                      endpoint: Endpoint) -> etree._Element:
    request = signed_content(message)
    house = request.findtext(q(ns.HM, "FIASHouseGuid"))
    found = oss_services.export_protocols(
        uow, sender, house=FiasHouseGuid(house) if house else None,
        guids=tuple(Guid(e.text or "") for e in request.iterchildren(q(ns.HM, "ProtocolGUID"))),
        votings=tuple(Guid(e.text or "") for e in request.iterchildren(q(ns.HM, "VotingGUID"))))
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    if not found:
        results_xml.append_error_message(root, Code.PROTOCOL_NOT_FOUND, "no protocol you may see matches")
    for protocol in found:
        oss_xml.encode_protocol(root, protocol, uow.oss.decided(protocol.guid)[0])
    return root


def _import_decrees(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                    endpoint: Endpoint) -> etree._Element:
    commands = rap_xml.decode_import_decrees(signed_content(message))
    results = decree_services.import_decrees(uow, sender, commands, message=message.guid, now=now)
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    results_xml.append_common_results(root, endpoint.types_ns, results)
    return root


def _export_decrees(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                    endpoint: Endpoint) -> etree._Element:
    query = rap_xml.decode_export_decrees(signed_content(message))
    found = decree_services.export_decrees(uow, sender, query)
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    if not found:
        results_xml.append_error_message(root, Code.DECREE_NOT_FOUND, "no decree you may see matches the request")
    for decree in found:
        rap_xml.encode_export_decree(root, decree)
    return root


def _export_compliance(uow: UnitOfWork, sender: Organisation, message: StoredMessage, now: datetime,
                       endpoint: Endpoint) -> etree._Element:
    root = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid, 3)
    try:
        query = compliance_xml.decode_request(signed_content(message))
    except InvalidValue as exc:
        results_xml.append_error_message(root, exc.code, str(exc))
        return root
    page = compliance_services.export_report(uow, sender, query, now)
    if isinstance(page, compliance_services.Refusal):
        results_xml.append_error_message(root, page.code, page.description)
    else:
        compliance_xml.encode_page(root, page)
    return root


PROCESSORS: dict[str, Processor] = {
    "importHouseUOData": _importer(houses_xml.decode_import_house_uo, house_services.import_house_uo),
    "exportHouseData": _export_house,
    "importAccountData": _importer(accounts_xml.decode_import_accounts, account_services.import_accounts,
                                   _account_numbers),
    "exportAccountData": _export_accounts,
    "importContractData": _importer(contracts_xml.decode_import_contracts, _documents(MandateKind.CONTRACT), _document),
    "importCharterData": _importer(contracts_xml.decode_import_charter, _documents(MandateKind.CHARTER), _document),
    "importSupplyResourceContractData": _importer(contracts_xml.decode_import_supply, _documents(MandateKind.SUPPLY),
                                                  _document),
    "importMeteringDeviceData": _importer(devices_xml.decode_import_devices, metering_services.import_devices, _device),
    "exportMeteringDeviceData": _export_devices,
    "importVotingProtocol": _importer(oss_xml.decode_import_protocol, oss_services.import_protocols, _voting),
    "importVotingMessage": _importer(oss_xml.decode_import_notice, oss_services.import_notices, _voting),
    "importOwnerDecision": _importer(oss_xml.decode_import_decisions, oss_services.import_decisions),
    "exportVotingProtocol": _export_protocols,
    "importMeteringDeviceValues": _import_readings,
    "exportMeteringDeviceHistory": _export_history,
    "importDecreesAndDocumentsData": _import_decrees,
    "exportDecreesAndDocumentsData": _export_decrees,
    "exportComplianceReport": _export_compliance,
}
