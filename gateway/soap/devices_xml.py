"""importMeteringDeviceDataRequest → device commands; devices → exportMeteringDeviceDataResult (house-management)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from gateway import ns
from gateway.domain.commands import Unsupported
from gateway.domain.metering import (
    Device,
    DeviceCommand,
    DeviceData,
    DeviceKind,
    DeviceResource,
    DeviceToArchive,
    DeviceToCreate,
    ExportDevices,
    ImportDevices,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue, xs_date
from gateway.ns import q
from gateway.soap.xmlmap import boolean, decoded, hm, iso, nsi, nsi_out, required, sub, text, transport_guid

MDB = ns.METERING_DEVICE_BASE


def _day(element: etree._Element, local: str) -> date | None:
    value = text(element, local)
    return xs_date(value, local) if value else None


def reading_value(value: str | None, what: str) -> Decimal:
    """MeteringValueType (\\d{1,15}(\\.\\d{1,7})?, XSD) as a Decimal."""
    if value is None:
        raise InvalidValue(f"{what} is missing")
    return Decimal(value)


def _nsi_ref(element: etree._Element | None) -> NsiRef | None:
    if element is None:
        return None
    return NsiRef(code=required(element, "Code", ns.NSI_BASE), guid=Guid(required(element, "GUID", ns.NSI_BASE)),
                  name=text(element, "Name", ns.NSI_BASE))


def _resources(full: etree._Element) -> tuple[DeviceResource, ...]:
    one_rate = full.findall(hm("MunicipalResourceNotEnergy"))
    if one_rate:
        return tuple(DeviceResource(_nsi_ref(r.find(q(MDB, "MunicipalResource"))), False,
                                    (reading_value(text(r, "MeteringValue", MDB), "MeteringValue"),))
                     for r in one_rate)
    energy = full.find(hm("MunicipalResourceEnergy"))
    if energy is not None:
        zones = [text(energy, f"MeteringValueT{i}", MDB) for i in (1, 2, 3)]
        if zones[1] is None and zones[2] is not None:
            raise InvalidValue("MeteringValueT3 without MeteringValueT2")
        return (DeviceResource(None, True, tuple(reading_value(z, "MeteringValueT") for z in zones if z is not None)),)
    raise InvalidValue("volume devices (MunicipalResources) are not supported by this gateway version")


def _device_data(full: etree._Element) -> DeviceData:
    basic = full.find(hm("BasicChatacteristicts"))
    if basic is None:
        raise InvalidValue("BasicChatacteristicts is missing")
    kind_element = next((c for c in basic if isinstance(c.tag, str) and etree.QName(c).localname
                         in DeviceKind._value2member_map_), None)
    if kind_element is None:
        raise InvalidValue("the device kind (ResidentialPremiseDevice, ApartmentHouseDevice, …) is missing")
    kind = DeviceKind(etree.QName(kind_element).localname)
    interval = basic.find(hm("VerificationInterval"))
    return DeviceData(
        number=required(basic, "MeteringDeviceNumber"), kind=kind, resources=_resources(full),
        remote=boolean(text(basic, "RemoteMeteringMode")) is True, model=text(basic, "MeteringDeviceModel"),
        stamp=text(basic, "MeteringDeviceStamp"), installed_on=_day(basic, "InstallationDate"),
        commissioned_on=_day(basic, "CommissioningDate"), first_verified_on=_day(basic, "FirstVerificationDate"),
        verification_interval=nsi(basic, "VerificationInterval") if interval is not None else None,
        temperature_sensor=boolean(text(basic, "TemperatureSensor")) is True,
        pressure_sensor=boolean(text(basic, "PressureSensor")) is True,
        houses=tuple(FiasHouseGuid(e.text or "") for e in kind_element.findall(hm("FIASHouseGuid"))),
        premises=tuple(Guid(e.text or "") for e in kind_element.findall(hm("PremiseGUID"))),
        accounts=tuple(Guid(e.text or "") for e in kind_element.findall(hm("AccountGUID"))),
        rooms=tuple(Guid(e.text or "") for e in kind_element.findall(hm("LivingRoomGUID"))),
    )


def _command(device: etree._Element) -> DeviceCommand:
    transport = transport_guid(device)
    create = device.find(hm("DeviceDataToCreate"))
    if create is not None:
        return DeviceToCreate(transport, decoded(_device_data, create))
    update = device.find(hm("DeviceDataToUpdate"))
    if update is None:
        return Unsupported(transport, "an empty MeteringDevice")
    version = Guid(required(update, "MeteringDeviceVersionGUID"))
    archive = update.find(hm("ArchiveDevice"))
    if archive is not None:
        return DeviceToArchive(transport, version, nsi(archive, "ArchivingReason"))
    replace = update.find(hm("ReplaceDevice"))
    if replace is not None:
        return DeviceToArchive(transport, version, None,
                               replaced_by=Guid(required(replace, "ReplacingMeteringDeviceVersionGUID")),
                               on=_day(replace, "VerificationDate"))
    changed = next((etree.QName(c).localname for c in update if isinstance(c.tag, str)
                    and etree.QName(c).localname != "MeteringDeviceVersionGUID"), "DeviceDataToUpdate")
    return Unsupported(transport, f"DeviceDataToUpdate/{changed}")


def decode_import_devices(request: etree._Element) -> ImportDevices:
    """``hm:importMeteringDeviceDataRequest`` (≤ 100 devices, XSD)."""
    house = text(request, "FIASHouseGuid")
    items: list[DeviceCommand] = []
    for device in request.findall(hm("MeteringDevice")):
        try:
            items.append(_command(device))
        except (InvalidValue, ValueError) as exc:
            error = exc if isinstance(exc, InvalidValue) else InvalidValue(str(exc))
            items.append(DeviceToCreate(transport_guid(device), error))
    return ImportDevices(FiasHouseGuid(house) if house else None, tuple(items))


def decode_export_devices(request: etree._Element) -> ExportDevices:
    root, version, house = (text(request, n) for n in ("MeteringDeviceRootGUID", "MeteringDeviceVersionGUID",
                                                        "FIASHouseGuid"))
    resource = request.find(hm("MunicipalResource"))
    return ExportDevices(root_guid=Guid(root) if root else None, version_guid=Guid(version) if version else None,
                         fias_house_guid=FiasHouseGuid(house) if house else None,
                         archived=boolean(text(request, "SearchArchived")) is True,
                         resource_code=text(resource, "Code", ns.NSI_BASE) if resource is not None else None)


def append_import_device(common: etree._Element, device: Device) -> None:
    """``hm:importMeteringDevice`` inside a CommonResult: the device's root GUID."""
    sub(etree.SubElement(common, hm("importMeteringDevice")), "MeteringDeviceGUID", device.root_guid)


def _value(number: Decimal) -> str:
    return format(number.normalize(), "f")


def encode_export_device(parent: etree._Element, device: Device) -> None:
    """``hm:exportMeteringDeviceDataResult`` for one device, appended to ``parent``."""
    data = device.data
    result = etree.SubElement(parent, hm("exportMeteringDeviceDataResult"))
    basic = etree.SubElement(result, hm("BasicChatacteristicts"))
    sub(basic, "MeteringDeviceNumber", data.number)
    sub(basic, "MeteringDeviceStamp", data.stamp)
    sub(basic, "MeteringDeviceModel", data.model)
    sub(basic, "InstallationDate", data.installed_on.isoformat() if data.installed_on else None)
    sub(basic, "CommissioningDate", data.commissioned_on.isoformat() if data.commissioned_on else None)
    sub(basic, "RemoteMeteringMode", data.remote)
    sub(basic, "FirstVerificationDate", data.first_verified_on.isoformat() if data.first_verified_on else None)
    if data.verification_interval is not None:
        nsi_out(basic, "VerificationInterval", data.verification_interval)
    sub(basic, "TemperatureSensor", data.temperature_sensor)
    sub(basic, "PressureSensor", data.pressure_sensor)
    kind = etree.SubElement(basic, hm(data.kind.value))
    if data.kind in (DeviceKind.COMMON_HOUSE, DeviceKind.COLLECTIVE):
        for house in data.houses or (device.fias_house_guid,):
            sub(kind, "FIASHouseGuid", house)
    elif data.kind is DeviceKind.LIVING_ROOM:
        for room in data.rooms:
            sub(kind, "LivingRoomGUID", room)
    else:
        for premises in data.premises:
            sub(kind, "PremiseGUID", premises)
    if data.kind is not DeviceKind.COLLECTIVE:
        for account in data.accounts:
            sub(kind, "AccountGUID", account)
    sub(result, "NotLinkedWithMetering", True)
    for resource in data.resources:
        if resource.electric:
            energy = etree.SubElement(result, hm("MunicipalResourceEnergy"))
            for zone, value in enumerate(resource.base, start=1):
                sub(energy, f"MeteringValueT{zone}", _value(value), MDB)
        else:
            assert resource.resource is not None
            one = etree.SubElement(result, hm("MunicipalResourceNotEnergy"))
            ref = etree.SubElement(one, q(MDB, "MunicipalResource"))
            sub(ref, "Code", resource.resource.code, ns.NSI_BASE)
            sub(ref, "GUID", resource.resource.guid, ns.NSI_BASE)
            sub(ref, "Name", resource.resource.name, ns.NSI_BASE)
            sub(one, "MeteringValue", _value(resource.base[0]), MDB)
    sub(result, "MeteringDeviceRootGUID", device.root_guid)
    sub(result, "StatusRootDoc", "Archival" if device.archived_on else "Active")
    sub(result, "MeteringDeviceVersionGUID", device.version_guid)
    sub(result, "VersionNumber", device.version_number)
    sub(result, "StatusVersion", "Archival" if device.archived_on else "Active")
    sub(result, "UpdateDateTime", iso(device.updated_at))  # type: ignore[arg-type]
    sub(result, "MeteringDeviceGISGKHNumber", device.gis_number)
