"""Metering devices (importMeteringDeviceData / exportMeteringDeviceData, house-management) and readings
(importMeteringDeviceValues / exportMeteringDeviceHistory, device-metering)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from gateway.domain import authority
from gateway.domain.commands import Unsupported
from gateway.domain.metering import (
    Device,
    DeviceToArchive,
    DeviceToCreate,
    ExportDevices,
    ExportHistory,
    ImportDevices,
    ImportReadings,
    InvalidValueItem,
    ReadingToImport,
    StoredReading,
    VerificationToImport,
    judge,
    next_verification,
)
from gateway.domain.model import Organisation
from gateway.domain.results import ObjectResult
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue
from gateway.errors import Code, Conflict
from gateway.registry.metering import ELECTRIC, NewReading, SeriesKey
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import preamble
from gateway.services.batch import write_batch

log = logging.getLogger("gateway.metering")

MUNICIPAL_RESOURCE_NSI = 2
VERIFICATION_INTERVAL_NSI = 16
ARCHIVING_REASON_NSI = 21
#: How many of a series' latest readings are read per batch: the previous one, and the history the
#: high-consumption warning averages over (two intervals).
RECENT_DEPTH = 3


@dataclass(frozen=True, slots=True)
class DeviceResult:
    result: ObjectResult
    device: Device | None = None


@dataclass
class _Batch:
    """What a readings message needs from the registry, fetched in a handful of queries."""

    devices: dict[Guid, Device]
    by_version: dict[Guid, Device]
    mandates: list[authority.Mandate]
    series: dict[SeriesKey, list[StoredReading]]
    complete: set[SeriesKey] = field(default_factory=set)


# devices ---------------------------------------------------------------------------------------------------

def import_devices(uow: UnitOfWork, sender: Organisation, command: ImportDevices, *, message: Guid,
                   now: datetime) -> list[DeviceResult]:
    """Register or archive devices (≤ 100 per message, XSD); each TransportGUID stands or falls alone."""
    results = []
    taken: dict[Guid, set[tuple[str, str]]] = {}
    for item in command.items:
        try:
            with uow.savepoint():
                results.append(_device(uow, sender, command.fias_house_guid, item, taken, message=message, now=now))
        except Conflict as exc:
            results.append(DeviceResult(ObjectResult.failed(item.transport_guid, Code.VALUE_INVALID, exc.message)))
    return results


def _device(uow: UnitOfWork, sender: Organisation, request_house: FiasHouseGuid | None,
            item: DeviceToCreate | DeviceToArchive | Unsupported, taken: dict[Guid, set[tuple[str, str]]],
            *, message: Guid, now: datetime) -> DeviceResult:
    transport = item.transport_guid

    def failed(code: Code, text: str) -> DeviceResult:
        return DeviceResult(ObjectResult.failed(transport, code, text))

    if refused := preamble.not_supported(item) or preamble.only_reads(sender):
        return failed(refused.code, refused.description)
    assert not isinstance(item, Unsupported)
    if isinstance(item, DeviceToArchive):
        return _archive(uow, sender, item, failed, message=message, now=now)
    if isinstance(item.data, InvalidValue):
        return failed(item.data.code, str(item.data))
    data = item.data
    premises_houses = uow.metering.premises_houses(data.premises)
    fias = request_house or (data.houses[0] if data.houses else None)
    if fias is None and data.premises:
        return failed(Code.VALUE_INVALID, "FIASHouseGuid is required to register a premises device")
    if fias is None:
        return failed(Code.VALUE_INVALID, "the device's house is not named (FIASHouseGuid)")
    house_guid = uow.houses.guid_of(fias)
    if house_guid is None:
        return failed(Code.HOUSE_NOT_FOUND, f"no house with FIAS GUID {fias} is registered")
    if denied := authority.refusal(sender, fias, authority.today(now), uow.documents.mandates([fias]),
                                "its metering devices"):
        return failed(denied.code, denied.text)
    for resource in data.resources:
        if resource.resource is not None and (
                why := uow.nsi.refusal(MUNICIPAL_RESOURCE_NSI, resource.resource, "MunicipalResource")):
            return failed(Code.NSI_UNKNOWN, why)
    interval_years = None
    if data.verification_interval is not None:
        if why := uow.nsi.refusal(VERIFICATION_INTERVAL_NSI, data.verification_interval, "VerificationInterval"):
            return failed(Code.NSI_UNKNOWN, why)
        value = uow.nsi.directory(VERIFICATION_INTERVAL_NSI)[data.verification_interval.code].value
        interval_years = int(value) if value and value.isdigit() else None
    for premises in data.premises:
        if premises_houses.get(premises) != house_guid:
            return failed(Code.PREMISES_NOT_FOUND, f"no premises {premises} is registered in house {fias}")
    rooms_houses = uow.metering.rooms_houses(data.rooms)
    for room in data.rooms:
        if rooms_houses.get(room) != house_guid:
            return failed(Code.PREMISES_NOT_FOUND, f"no living room {room} is registered in house {fias}")
    holders = uow.metering.account_holders(data.accounts)
    for account in data.accounts:
        if account not in holders:
            return failed(Code.ACCOUNT_NOT_FOUND, f"no account {account} is registered")
    in_house = taken.setdefault(house_guid, uow.metering.active_numbers(house_guid))
    keys = {(data.number, r.resource.code if r.resource else ELECTRIC) for r in data.resources}
    if clash := keys & in_house:
        return failed(Code.DEVICE_DUPLICATE, f"device number {data.number} already measures resource "
                                             f"{sorted(clash)[0][1]} in house {fias}; archive the old device first")
    device = uow.metering.create(data, house_guid=house_guid, fias=fias,
                                 next_verification_on=next_verification(data.first_verified_on, interval_years),
                                 org=sender.guid, at=now)
    in_house.update(keys)
    return DeviceResult(ObjectResult(transport, guid=device.version_guid, unique_number=device.gis_number,
                                     update_date=now), device)


def _archive(uow: UnitOfWork, sender: Organisation, item: DeviceToArchive,
             failed: Callable[[Code, str], DeviceResult], *, message: Guid, now: datetime) -> DeviceResult:
    device = uow.metering.by_versions([item.version_guid]).get(item.version_guid)
    if device is None:
        return failed(Code.DEVICE_NOT_FOUND, f"no device has current version {item.version_guid}")
    if device.archived_on is not None:
        return failed(Code.DEVICE_ARCHIVED, f"device {device.data.number} was archived on {device.archived_on}")
    on = item.on or authority.today(now)
    if denied := authority.refusal(sender, device.fias_house_guid, on, uow.documents.mandates([device.fias_house_guid]),
                                "its metering devices"):
        return failed(denied.code, denied.text)
    if item.reason is not None and (why := uow.nsi.refusal(ARCHIVING_REASON_NSI, item.reason, "ArchivingReason")):
        return failed(Code.NSI_UNKNOWN, why)
    successor = None
    if item.replaced_by is not None:
        found = uow.metering.by_versions([item.replaced_by]).get(item.replaced_by)
        if found is None or found.house_guid != device.house_guid or found.archived_on is not None:
            return failed(Code.DEVICE_NOT_FOUND, f"no device in service in the same house has version "
                                                 f"{item.replaced_by} to replace device {device.data.number}")
        successor = found.root_guid
    archived = uow.metering.archive(device, reason=item.reason, on=on, replaced_by=successor, at=now)
    return DeviceResult(ObjectResult(item.transport_guid, guid=archived.version_guid,
                                     unique_number=archived.gis_number, update_date=now), archived)


def visible_devices(uow: UnitOfWork, reader: Organisation, devices: list[Device], now: datetime) -> list[Device]:
    """Regulators and the operator see every device; an organisation the devices of houses it manages
    or supplies today, and those it posted."""
    if reader.role in authority.READ_ONLY_ROLES:
        return devices
    mandates = uow.documents.mandates(d.fias_house_guid for d in devices)
    on = authority.today(now)
    return [d for d in devices
            if d.posted_by == reader.guid or authority.holds(reader, d.fias_house_guid, on, mandates)]


def export_devices(uow: UnitOfWork, reader: Organisation, query: ExportDevices, now: datetime) -> list[Device]:
    """exportMeteringDeviceData: the device named, or a house's devices in service (or archived), of a
    resource if one is named — those the reader may see."""
    if query.root_guid is not None:
        found = list(uow.metering.by_roots([query.root_guid]).values())
    elif query.version_guid is not None:
        found = list(uow.metering.by_versions([query.version_guid]).values())
    else:
        assert query.fias_house_guid is not None  # the schema's choice
        found = uow.metering.in_house(query.fias_house_guid, archived=query.archived)
    if query.resource_code is not None:
        found = [d for d in found if d.data.resource(query.resource_code) is not None]
    return visible_devices(uow, reader, found, now)


def export_history(uow: UnitOfWork, reader: Organisation, query: ExportHistory,
                   now: datetime) -> list[tuple[Device, list[StoredReading]]]:
    """exportMeteringDeviceHistory: the devices named (by root GUID, within the houses named), or the houses'
    devices; archived ones only if asked; each with its kept readings entered in the range."""
    if query.device_roots:
        found = list(uow.metering.by_roots(query.device_roots).values())
        if query.fias_house_guids:
            found = [d for d in found if d.fias_house_guid in query.fias_house_guids]
    else:
        found = [d for house in query.fias_house_guids for d in uow.metering.in_house(house)]
    if not query.archived:
        found = [d for d in found if d.archived_on is None]
    if query.resource_codes:
        found = [d for d in found if any(d.data.resource(c) for c in query.resource_codes)]
    found = visible_devices(uow, reader, found, now)
    history = uow.metering.history([d.root_guid for d in found], entered_from=query.entered_from,
                                   entered_to=query.entered_to)
    return [(d, history.get(str(d.root_guid), [])) for d in found]


# readings --------------------------------------------------------------------------------------------------

def _key(device: Device, reading: ReadingToImport) -> SeriesKey:
    return (str(device.root_guid), reading.resource_code or ELECTRIC, reading.kind.value)


@dataclass(frozen=True, slots=True)
class ReadingsOutcome:
    results: list[ObjectResult]
    #: warnings on accepted readings (high consumption, overdue verification, roll-over), by flag
    flagged: dict[str, int]


def import_readings(uow: UnitOfWork, sender: Organisation, command: ImportReadings, *, message: Guid,
                    now: datetime) -> ReadingsOutcome:
    """Readings (≤ 1,000 devices per message, XSD), judged by the rules of DESIGN §3 and written set-based.

    The official CommonResult has no slot for a warning: a flagged reading is answered like any accepted
    one, and its flags are kept on the reading, logged and counted for the compliance reports.
    """
    named = [i for i in command.items if isinstance(i, ReadingToImport | VerificationToImport)]
    readings = [i for i in command.items if isinstance(i, ReadingToImport)]
    roots = uow.metering.by_roots((r.device_root for r in named if r.device_root), linked=False)
    by_version = uow.metering.by_versions((r.device_version for r in named if r.device_version), linked=False)
    every = list(roots.values()) + list(by_version.values())
    batch = _Batch(roots, by_version, uow.documents.mandates({d.fias_house_guid for d in every}), {})
    keys = set()
    since: dict[SeriesKey, str] = {}
    for reading in readings:
        device = _device_of(reading, roots, by_version)
        if device is not None:
            keys.add(key := _key(device, reading))
            # no kept reading precedes its device's start (judge refuses it; a reading's period is its date's
            # month): the series' read can skip the months before
            start = device.data.commissioned_on or device.data.installed_on
            if start is not None:
                since[key] = f"{start.year:04d}-{start.month:02d}"
    batch.series = uow.metering.recent(keys, RECENT_DEPTH, since=since)
    day = authority.today(now)
    results: list[ObjectResult | None] = []
    accepted: list[tuple[int, NewReading]] = []
    seen: set[tuple[SeriesKey, str]] = set()
    for item in command.items:
        if isinstance(item, VerificationToImport):
            results.append(_verification(uow, sender, command.fias_house_guid, item, batch, day, message=message,
                                         now=now))
            continue
        judged = _reading(uow, sender, command.fias_house_guid, item, batch, seen, day)
        if isinstance(judged, NewReading):
            accepted.append((len(results), judged))
            results.append(None)
        else:
            results.append(judged)
    flagged: dict[str, int] = {}
    for index, result in _save_readings(uow, sender, accepted, message=message, now=now):
        results[index] = result
    saved = {r.guid for r in results if r is not None and r.ok}
    for _, new in accepted:
        if new.guid in saved:
            for flag in new.flags:
                flagged[flag] = flagged.get(flag, 0) + 1
    return ReadingsOutcome([r for r in results if r is not None], flagged)


def _verification(uow: UnitOfWork, sender: Organisation, request_house: FiasHouseGuid | None,
                  item: VerificationToImport, batch: _Batch, day: date, *, message: Guid,
                  now: datetime) -> ObjectResult:
    """A verification moves the device's next verification date to one interval (NSI 16) after the seal."""
    transport = item.transport_guid
    if refused := preamble.only_reads(sender):
        return ObjectResult.failed(transport, refused.code, refused.description)
    device = _device_of(item, batch.devices, batch.by_version)
    if device is None or (request_house is not None and device.fias_house_guid != request_house):
        return ObjectResult.failed(transport, Code.DEVICE_NOT_FOUND,
                                   f"no metering device {item.device_root or item.device_version}")
    if device.archived_on is not None:
        return ObjectResult.failed(transport, Code.DEVICE_ARCHIVED, f"device {device.data.number} was archived on "
                                                                    f"{device.archived_on}")
    if item.sealed_on > day:
        return ObjectResult.failed(transport, Code.READING_FUTURE_DATE, f"verification sealed on {item.sealed_on}, "
                                                                        f"after today ({day})")
    if denied := authority.refusal(sender, device.fias_house_guid, item.sealed_on, batch.mandates, "verifications"):
        return ObjectResult.failed(transport, denied.code, denied.text)
    interval = device.data.verification_interval
    value = uow.nsi.directory(VERIFICATION_INTERVAL_NSI).get(interval.code) if interval is not None else None
    years = int(value.value) if value is not None and value.value and value.value.isdigit() else None
    with uow.savepoint():
        verified = uow.metering.verified(device, sealed_on=item.sealed_on,
                                         next_on=next_verification(item.sealed_on, years), at=now)
    batch.devices[verified.root_guid] = verified  # later readings of this message see the new date
    batch.by_version[verified.version_guid] = verified
    return ObjectResult(transport, guid=verified.version_guid, update_date=now)


def _device_of(reading: ReadingToImport | VerificationToImport, roots: dict[Guid, Device],
               versions: dict[Guid, Device]) -> Device | None:
    if reading.device_root is not None:
        return roots.get(reading.device_root)
    return versions.get(reading.device_version) if reading.device_version is not None else None


def _reading(uow: UnitOfWork, sender: Organisation, request_house: FiasHouseGuid | None,
             item: ReadingToImport | Unsupported | InvalidValueItem, batch: _Batch,
             seen: set[tuple[SeriesKey, str]], day: date) -> ObjectResult | NewReading:
    transport = item.transport_guid
    if refused := preamble.not_supported(item):
        return ObjectResult.failed(transport, refused.code, refused.description)
    if isinstance(item, InvalidValueItem):
        return ObjectResult.failed(transport, item.error.code, str(item.error))
    if refused := preamble.only_reads(sender):
        return ObjectResult.failed(transport, refused.code, refused.description)
    assert not isinstance(item, Unsupported)
    device = _device_of(item, batch.devices, batch.by_version)
    named = item.device_root or item.device_version
    if device is None or (request_house is not None and device.fias_house_guid != request_house):
        where = f" in house {request_house}" if request_house is not None else ""
        return ObjectResult.failed(transport, Code.DEVICE_NOT_FOUND, f"no metering device {named}{where}")
    if denied := authority.refusal(sender, device.fias_house_guid, item.on, batch.mandates, "readings"):
        return ObjectResult.failed(transport, denied.code, denied.text)
    base = device.data.resource(item.resource_code)
    if base is None:
        measured = ", ".join(r.resource.code if r.resource else "electricity" for r in device.data.resources)
        what = f"resource {item.resource_code}" if item.resource_code else "electricity"
        return ObjectResult.failed(transport, Code.READING_RESOURCE_MISMATCH,
                                   f"device {device.data.number} does not measure {what} (it measures {measured})")
    key = _key(device, item)
    month = item.month
    if (key, month) in seen:
        return ObjectResult.failed(transport, Code.VALUE_INVALID, f"a second reading of device {device.data.number} "
                                                                  f"for {month} in one message")
    series = batch.series.setdefault(key, [])
    if key not in batch.complete and len(series) >= RECENT_DEPTH and month < series[0].period:
        batch.series[key] = series = uow.metering.series(key)  # back-dated beyond what the batch read
        batch.complete.add(key)
    earlier = [s for s in series if s.period < month]
    same = next((s for s in series if s.period == month), None)
    following = next((s for s in series if s.period > month), None)
    verdict = judge(item, device=device, base=base, earlier=earlier[-RECENT_DEPTH:], following=following, today=day)
    if verdict.error is not None:
        return ObjectResult.failed(transport, *verdict.error)
    seen.add((key, month))
    accepted = NewReading(Guid.ordered(), key, month, item.on, item.values, tuple(f.value for f in verdict.flags),
                          transport, same.guid if same else None)
    # later readings of the same series in this message are judged against this one
    kept = [s for s in series if s.period != month] + [StoredReading(accepted.guid, item.on, month, item.values)]
    batch.series[key] = sorted(kept, key=lambda s: s.on)
    if verdict.flags:
        log.info("event=reading_flagged device=%s period=%s flags=%s", device.root_guid, month,
                 ",".join(accepted.flags))
    return accepted


def _save_readings(uow: UnitOfWork, sender: Organisation, items: list[tuple[int, NewReading]], *, message: Guid,
                   now: datetime) -> list[tuple[int, ObjectResult]]:
    def write(batch: list[tuple[int, NewReading]]) -> list[tuple[int, ObjectResult]]:
        with uow.savepoint():
            uow.metering.save_readings([r for _, r in batch], org=sender.guid, message=message)
        return [(index, ObjectResult(r.transport_guid, guid=r.guid, update_date=now)) for index, r in batch]

    def refuse(entry: tuple[int, NewReading], conflict: Conflict) -> tuple[int, ObjectResult]:
        return entry[0], ObjectResult.failed(entry[1].transport_guid, Code.VALUE_INVALID,
                                             f"a reading for {entry[1].period} was stored concurrently; send again")

    return write_batch(items, write, refuse)
