"""Records → official request elements, through zeep and the vendored WSDL; checked against the official XSD.

zeep builds each request from the service's own WSDL and schemas (the vendored 16.3.0.0 files, read from
disk: no network, no server needed to prepare a push), so element order and namespace qualification come
from the schema, not from hand-written XML. Every built request is then validated with the gateway's
compiled-once validators (``gateway.xsd.validate``) before it is signed, so a request the gateway would
refuse at the door (INT001007) is caught on the provider's machine, row by row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import zeep
import zeep.exceptions
from lxml import etree

from gateway import ns
from gateway.errors import SchemaInvalid
from gateway.ns import BASE, DM, HM
from gateway.ns import NSI_BASE as NSI
from gateway.xsd import Service, validate
from providers.errors import ProviderError
from providers.operations import OPERATIONS, OperationSpec
from providers.records import Account, Device, House, ManagementContract, NsiRef, PremisesKind, Reading

#: prefixes declared once on the request element (zeep would otherwise declare one per element)
PREFIXES = {"hm": HM, "dm": DM, "base": BASE, "nsi": NSI, "ab": ns.ACCOUNT_BASE, "mdb": ns.METERING_DEVICE_BASE,
            "ir": ns.INDIVIDUAL_REGISTRY_BASE, "prem": ns.PREMISES_BASE, "orgreg": ns.ORGANIZATIONS_REGISTRY_BASE}

_lock = threading.Lock()


class RequestInvalid(ProviderError, ValueError):
    """A request zeep cannot build or the official schema refuses; ``element`` names the offending element."""

    def __init__(self, message: str, element: str | None = None) -> None:
        super().__init__(message)
        self.element = element


@cache
def _client(service: Service) -> zeep.Client:
    settings = zeep.Settings(strict=False, forbid_dtd=True, forbid_entities=True, forbid_external=False)
    return zeep.Client(str(service.wsdl), settings=settings)  # type: ignore[no-untyped-call]


def schema_client(service: Service) -> zeep.Client:
    """The zeep client of a service's vendored WSDL; built once per process (≈ 0.3 s)."""
    with _lock:
        return _client(service)


def render(op: OperationSpec, content: dict[str, Any]) -> etree._Element:
    """The request element of ``op`` with ``content`` (zeep keyword values), ``Id`` and ``base:version`` set."""
    element = schema_client(op.service).get_element(op.qname)  # type: ignore[no-untyped-call]
    wrapper = etree.Element("wrapper")
    try:
        element.render(wrapper, element(Id="signed-data-container", version=op.version, **content))
    except (zeep.exceptions.Error, TypeError, ValueError) as exc:
        raise RequestInvalid(f"{op.request}: {exc}", _element_named(str(exc))) from None
    body = wrapper[0]
    wrapper.remove(body)
    etree.cleanup_namespaces(body, top_nsmap=PREFIXES)
    return body


def checked(op: OperationSpec, body: etree._Element) -> etree._Element:
    """``body`` if it conforms to the official schema of ``op``'s service; ``RequestInvalid`` otherwise."""
    try:
        validate(body, op.service)
    except SchemaInvalid as exc:
        raise RequestInvalid(exc.message, _element_named(exc.message)) from None
    return body


def _element_named(message: str) -> str | None:
    """The local name of the first element an lxml or zeep error message names."""
    for marker in ("Element '{", "element {"):
        if marker in message:
            rest = message.split(marker, 1)[1]
            return rest.split("}", 1)[1].split("'", 1)[0].split(" ", 1)[0].strip(":,")
    if message.rstrip().endswith(")") and "(" in message:  # zeep: "… (request.Item.Child.Element)"
        return message.rstrip()[:-1].rsplit("(", 1)[1].rsplit(".", 1)[-1] or None
    return None


def parse_answer(op_service: Service, answer: etree._Element) -> Any:
    """An answer element parsed into zeep objects (attribute access: ``.exportHouseResult.ApartmentHouse``)."""
    client = schema_client(op_service)
    return client.get_element(answer.tag).parse(answer, client.wsdl.types)  # type: ignore[no-untyped-call]


# ---- values


def _d(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _nsi(ref: NsiRef | None) -> dict[str, str] | None:
    return None if ref is None else {"Code": ref.code, "GUID": ref.guid}


def _clean(value: Any) -> Any:
    """Drop absent (None) values and empty lists, so zeep sees only what the record says."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != [] and v != ()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


# ---- requests


def contracts_request(contracts: Sequence[ManagementContract]) -> etree._Element:
    op = _limited("importContractData", contracts)
    return checked(op, render(op, _clean({"Contract": [{
        "TransportGUID": c.transport_guid,
        "PlacingContract": {
            "DocNum": c.number, "SigningDate": c.signing_date, "EffectiveDate": c.effective_date,
            "PlanDateComptetion": c.plan_end_date, "Owners": True if c.owners else None,
            "ContractBase": _nsi(c.base),
            "ContractAttachment": [{"Name": c.attachment.name, "Description": c.attachment.description,
                                    "Attachment": {"AttachmentGUID": c.attachment.guid},
                                    "AttachmentHASH": c.attachment.hash}],
            "ContractObject": [{"FIASHouseGuid": h.fias_house_guid, "StartDate": h.start_date, "EndDate": h.end_date,
                                "TransportGUID": h.transport_guid, "BaseMService": {"CurrentDoc": True}}
                               for h in c.houses]}} for c in contracts]})))


def _cadastral(number: str | None, none_stated: bool) -> dict[str, Any]:
    if number:
        return {"CadastralNumber": number}
    return {"NoCadastralNumber": True} if none_stated else {}


def house_request(house: House) -> etree._Element:
    op = OPERATIONS["importHouseUOData"]
    residential = [p for p in house.premises if p.kind is PremisesKind.RESIDENTIAL]
    other = [p for p in house.premises if p.kind is PremisesKind.NON_RESIDENTIAL]
    return checked(op, render(op, _clean({"ApartmentHouse": {
        "ApartmentHouseToCreate": {
            "BasicCharacteristicts": {
                **_cadastral(house.cadastral_number, house.no_cadastral_number),
                "FIASHouseGuid": house.fias_house_guid, "TotalSquare": _d(house.total_square),
                "State": _nsi(house.state), "UsedYear": house.used_year, "FloorCount": house.floor_count,
                "OKTMO": {"code": house.oktmo} if house.oktmo else None, "OlsonTZ": _nsi(house.olson_tz),
                "CulturalHeritage": house.cultural_heritage},
            "UndergroundFloorCount": house.underground_floor_count, "TransportGUID": house.transport_guid},
        "NonResidentialPremiseToCreate": [{
            **_cadastral(p.cadastral_number, p.no_cadastral_number), "PremisesNum": p.number,
            "TotalArea": _d(p.total_area), "IsCommonProperty": p.is_common_property,
            "TransportGUID": p.transport_guid} for p in other],
        "ResidentialPremises": [{"ResidentialPremisesToCreate": {
            **_cadastral(p.cadastral_number, p.no_cadastral_number), "PremisesNum": p.number,
            "EntranceNum": p.entrance, "HasNoEntrance": True if p.no_entrance else None,
            "TotalArea": _d(p.total_area), "GrossArea": _d(p.gross_area),
            "TransportGUID": p.transport_guid}} for p in residential]}})))


def _account(a: Account) -> dict[str, Any]:
    return {
        a.account_type.value: True, "LivingPersonsNumber": a.living_persons, "TotalSquare": _d(a.total_square),
        "ResidentialSquare": _d(a.residential_square), "HeatedArea": _d(a.heated_area),
        "Accommodation": [{"PremisesGUID": a.premises_guid, "FIASHouseGuid": a.fias_house_guid,
                           "LivingRoomGUID": a.living_room_guid, "SharePercent": _d(a.share_percent)}],
        "PayerInfo": {"Ind": {"Surname": a.payer.surname, "FirstName": a.payer.first_name,
                              "Patronymic": a.payer.patronymic, "SNILS": a.payer.snils}},
        "AccountNumber": a.account_number, "AccountGUID": a.account_guid, "TransportGUID": a.transport_guid}


def accounts_request(accounts: Sequence[Account]) -> etree._Element:
    op = _limited("importAccountData", accounts)
    return checked(op, render(op, _clean({"Account": [_account(a) for a in accounts]})))


def _device(d: Device) -> dict[str, Any]:
    place: dict[str, Any] = {"AccountGUID": list(d.account_guids)}
    if d.kind.name == "HOUSE":
        place = {"FIASHouseGuid": list(d.house_fias_guids), **place}
    elif d.kind.name == "LIVING_ROOM":
        place = {"LivingRoomGUID": list(d.living_room_guids), **place}
    else:
        place = {"PremiseGUID": list(d.premises_guids), **place}
    resources: dict[str, Any]
    if d.energy:
        resources = {"MunicipalResourceEnergy": {f"MeteringValueT{n}": _d(v) for n, v in enumerate(d.energy, 1)}}
    else:
        resources = {"MunicipalResourceNotEnergy": [{"MunicipalResource": _nsi(ref), "MeteringValue": _d(base)}
                                                    for ref, base in d.resources]}
    return {"TransportGUID": d.transport_guid, "DeviceDataToCreate": {
        "BasicChatacteristicts": {
            "MeteringDeviceNumber": d.number, "MeteringDeviceStamp": d.stamp, "MeteringDeviceModel": d.model,
            "InstallationDate": d.installed_on, "CommissioningDate": d.commissioned_on,
            "RemoteMeteringMode": d.remote, "FirstVerificationDate": d.first_verified_on,
            "VerificationInterval": _nsi(d.verification_interval), "TemperatureSensor": d.temperature_sensor,
            "PressureSensor": d.pressure_sensor, d.kind.value: place},
        "NotLinkedWithMetering": True, **resources}}


def devices_request(fias_house_guid: str, devices: Sequence[Device]) -> etree._Element:
    op = _limited("importMeteringDeviceData", devices)
    return checked(op, render(op, _clean({"FIASHouseGuid": fias_house_guid,
                                          "MeteringDevice": [_device(d) for d in devices]})))


def _reading(r: Reading) -> dict[str, Any]:
    year, month = r.period or (r.on.year, r.on.month)
    value: dict[str, Any] = {"DateValue": r.on, "TransportGUID": r.transport_guid}
    if not r.control:
        value["Period"] = {"Year": year, "Month": month}
    slot = "ControlValue" if r.control else "CurrentValue"
    if r.zones:
        zones = {f"MeteringValueT{n}": _d(v) for n, v in enumerate(r.zones, 1)}
        return {"MeteringDeviceRootGUID": r.device_root_guid, "ElectricDeviceValue": {slot: {**zones, **value}}}
    return {"MeteringDeviceRootGUID": r.device_root_guid, "OneRateDeviceValue": {slot: [{
        "MunicipalResource": _nsi(r.resource), "MeteringValue": _d(r.value), **value}]}}


def readings_request(readings: Sequence[Reading]) -> etree._Element:
    """importMeteringDeviceValuesRequest, built directly with lxml: the month-end bulk (100,000s of readings)
    would spend most of a push in zeep's renderer (0.5 s per 1,000). ``readings_request_zeep`` is the
    reference; tests/unit/test_provider_builders.py proves the two write the same canonical XML."""
    op = _limited("importMeteringDeviceValues", readings)
    return checked(op, _readings_lxml(op, readings))


def readings_request_zeep(readings: Sequence[Reading]) -> etree._Element:
    op = _limited("importMeteringDeviceValues", readings)
    return checked(op, render(op, _clean({"MeteringDevicesValues": [_reading(r) for r in readings]})))


_MDB = PREFIXES["mdb"]


def _readings_lxml(op: OperationSpec, readings: Sequence[Reading]) -> etree._Element:
    root = etree.Element(op.qname, nsmap={"ns0": DM, "ns1": BASE, "mdb": _MDB, "nsi": NSI})
    root.set("Id", "signed-data-container")
    root.set(f"{{{BASE}}}version", op.version)
    sub = etree.SubElement
    for r in readings:
        values = sub(root, f"{{{DM}}}MeteringDevicesValues")
        sub(values, f"{{{DM}}}MeteringDeviceRootGUID").text = r.device_root_guid
        kind = sub(values, f"{{{DM}}}ElectricDeviceValue" if r.zones else f"{{{DM}}}OneRateDeviceValue")
        value = sub(kind, f"{{{DM}}}ControlValue" if r.control else f"{{{DM}}}CurrentValue")
        if r.zones:
            for n, zone in enumerate(r.zones, 1):
                sub(value, f"{{{_MDB}}}MeteringValueT{n}").text = _d(zone)
        else:
            if r.resource is not None:
                resource = sub(value, f"{{{_MDB}}}MunicipalResource")
                sub(resource, f"{{{NSI}}}Code").text = r.resource.code
                sub(resource, f"{{{NSI}}}GUID").text = r.resource.guid
            if r.value is not None:
                sub(value, f"{{{_MDB}}}MeteringValue").text = _d(r.value)
        sub(value, f"{{{DM}}}DateValue").text = r.on.isoformat()
        sub(value, f"{{{BASE}}}TransportGUID").text = r.transport_guid
        if not r.control:
            year, month = r.period or (r.on.year, r.on.month)
            period = sub(value, f"{{{DM}}}Period")
            sub(period, f"{{{BASE}}}Year").text = str(year)
            sub(period, f"{{{BASE}}}Month").text = str(month)
    return root


def export_house_request(fias_house_guid: str) -> etree._Element:
    op = OPERATIONS["exportHouseData"]
    return checked(op, render(op, {"FIASHouseGuid": fias_house_guid}))


def export_accounts_request(*, fias_house_guid: str | None = None, account_guids: Iterable[str] = ()
                            ) -> etree._Element:
    op = OPERATIONS["exportAccountData"]
    return checked(op, render(op, _clean({"FIASHouseGuid": fias_house_guid, "AccountGUID": list(account_guids)})))


def export_devices_request(*, fias_house_guid: str | None = None, root_guid: str | None = None,
                           version_guid: str | None = None) -> etree._Element:
    op = OPERATIONS["exportMeteringDeviceData"]
    return checked(op, render(op, _clean({"FIASHouseGuid": fias_house_guid, "MeteringDeviceRootGUID": root_guid,
                                          "MeteringDeviceVersionGUID": version_guid})))


def export_history_request(fias_house_guids: Sequence[str], *, root_guids: Sequence[str] = (),
                           resources: Sequence[NsiRef] = ()) -> etree._Element:
    """The schema needs one filter besides the houses: the devices (root GUIDs) or the resources (NSI 2)."""
    op = _limited("exportMeteringDeviceHistory", fias_house_guids)
    return checked(op, render(op, _clean({"FIASHouseGuid": list(fias_house_guids),
                                          "MunicipalResource": [_nsi(r) for r in resources],
                                          "MeteringDeviceRootGUID": list(root_guids)})))


def export_protocols_request(*, fias_house_guid: str | None = None, protocol_guids: Sequence[str] = (),
                             voting_guids: Sequence[str] = ()) -> etree._Element:
    op = OPERATIONS["exportVotingProtocol"]
    return checked(op, render(op, _clean({"FIASHouseGuid": fias_house_guid, "ProtocolGUID": list(protocol_guids),
                                          "VotingGUID": list(voting_guids)})))


def _limited(operation: str, items: Sequence[object]) -> OperationSpec:
    op = OPERATIONS[operation]
    if not items:
        raise RequestInvalid(f"{op.request}: nothing to send")
    if op.limit is not None and len(items) > op.limit:
        raise RequestInvalid(f"{op.request} carries at most {op.limit} objects, not {len(items)}: "
                             "split it (gateway-provider push batches automatically)")
    return op

