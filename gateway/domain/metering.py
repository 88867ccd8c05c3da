"""Metering devices and their readings (DESIGN §3).

A device measures one to three municipal resources (NSI 2); an electricity meter has one to three tariff
zones (T1–T3) on one register. Readings keep the meter's order: a reading below the one before it is
refused, unless the register rolled over (the previous value was near the register's limit and the new
one just past zero). A device that is replaced is archived and its successor starts a new series, so a
replacement never looks like a reading below the previous one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from gateway.domain.commands import Unsupported
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue
from gateway.errors import Code

#: Consumption per day this many times the device's recent average is accepted but flagged.
HIGH_CONSUMPTION_FACTOR = Decimal(3)
#: A register "rolls over" when the previous value is in the top tenth of its digits' range and the
#: consumption across zero is within a tenth of that range (a 5-digit water meter: 99,990 → 12).
ROLLOVER_SHARE = Decimal("0.1")


class DeviceKind(StrEnum):
    """The official choice in BasicChatacteristicts (sic)."""

    RESIDENTIAL = "ResidentialPremiseDevice"  # individual (ИПУ) in a flat
    NON_RESIDENTIAL = "NonResidentialPremiseDevice"
    COMMON_HOUSE = "ApartmentHouseDevice"  # common-house (ОДПУ)
    COLLECTIVE = "CollectiveDevice"  # collective (several houses)
    COLLECTIVE_APARTMENT = "CollectiveApartmentDevice"  # shared flat (коммунальная квартира)
    LIVING_ROOM = "LivingRoomDevice"  # room (комнатный)


class Flag(StrEnum):
    """Accepted with a warning: kept on the reading, logged and counted, shown in reports."""

    HIGH_CONSUMPTION = "high_consumption"
    VERIFICATION_OVERDUE = "verification_overdue"
    ROLLOVER = "rollover"


@dataclass(frozen=True, slots=True)
class DeviceResource:
    """One resource the device measures, with its zones and the register's value at installation."""

    resource: NsiRef | None  # NSI 2; None for an electricity register (MunicipalResourceEnergy names none)
    electric: bool
    base: tuple[Decimal, ...]  # one value per zone (T1..T3 for electricity, one otherwise)

    @property
    def zones(self) -> int:
        return len(self.base)


@dataclass(frozen=True, slots=True)
class DeviceData:
    number: str
    kind: DeviceKind
    resources: tuple[DeviceResource, ...]
    remote: bool = False
    model: str | None = None
    stamp: str | None = None
    installed_on: date | None = None
    commissioned_on: date | None = None
    first_verified_on: date | None = None
    verification_interval: NsiRef | None = None  # NSI 16
    temperature_sensor: bool = False
    pressure_sensor: bool = False
    houses: tuple[FiasHouseGuid, ...] = ()  # a common-house or collective device's houses
    premises: tuple[Guid, ...] = ()
    accounts: tuple[Guid, ...] = ()
    rooms: tuple[Guid, ...] = ()  # a room device's living rooms

    def __post_init__(self) -> None:
        if not 1 <= len(self.resources) <= 3:
            raise InvalidValue("a device measures one to three resources")
        codes = [r.resource.code if r.resource else "E" for r in self.resources]
        if len(set(codes)) != len(codes):
            raise InvalidValue(f"resource {codes} repeated on one device")
        if self.installed_on and self.commissioned_on and self.commissioned_on < self.installed_on:
            raise InvalidValue(f"device {self.number} is commissioned ({self.commissioned_on}) before it is "
                               f"installed ({self.installed_on})")

    def resource(self, code: str | None) -> DeviceResource | None:
        """The resource a reading names; an electricity reading names none (its device has one)."""
        if code is None:
            return next((r for r in self.resources if r.electric), None)
        return next((r for r in self.resources if r.resource is not None and r.resource.code == code), None)


def next_verification(first_verified_on: date | None, interval_years: int | None) -> date | None:
    """When the device is due for verification: its first verification plus the interval (NSI 16).

    Later verifications (VerificationValue) would move it; this version does not record them yet.
    """
    if first_verified_on is None or not interval_years:
        return None
    return _add_years(first_verified_on, interval_years)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, slots=True)
class DeviceToCreate:
    transport_guid: Guid
    data: DeviceData | InvalidValue


@dataclass(frozen=True, slots=True)
class DeviceToArchive:
    transport_guid: Guid
    version_guid: Guid
    reason: NsiRef | None  # NSI 21; None when the device is replaced (ReplaceDevice)
    replaced_by: Guid | None = None  # ReplaceDevice: the successor's version GUID
    on: date | None = None


DeviceCommand = DeviceToCreate | DeviceToArchive | Unsupported


@dataclass(frozen=True, slots=True)
class ImportDevices:
    fias_house_guid: FiasHouseGuid | None
    items: tuple[DeviceCommand, ...]


@dataclass(frozen=True, slots=True)
class Device:
    root_guid: Guid
    version_guid: Guid
    version_number: int
    house_guid: Guid
    fias_house_guid: FiasHouseGuid
    data: DeviceData
    posted_by: Guid
    updated_at: object  # datetime
    gis_number: str
    next_verification_on: date | None = None
    archived_on: date | None = None
    archive_reason: NsiRef | None = None
    replaced_by: Guid | None = None


class ReadingKind(StrEnum):
    CURRENT = "current"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class ReadingToImport:
    """One CurrentValue/ControlValue (one TransportGUID): a resource's value, or an electric meter's zones."""

    transport_guid: Guid
    device_root: Guid | None
    device_version: Guid | None
    kind: ReadingKind
    resource_code: str | None  # None: an electricity reading (ElectricDeviceValue)
    values: tuple[Decimal, ...]
    on: date
    period: str | None = None  # YYYY-MM; the reading date's month when not given

    @property
    def month(self) -> str:
        return self.period or f"{self.on.year:04d}-{self.on.month:02d}"


@dataclass(frozen=True, slots=True)
class VerificationToImport:
    """VerificationValue: the device was verified (removed on ``started_on``, sealed back on ``sealed_on``);
    its next verification falls due one interval after the seal."""

    transport_guid: Guid
    device_root: Guid | None
    device_version: Guid | None
    started_on: date
    ended_on: date
    sealed_on: date
    planned: bool

    def __post_init__(self) -> None:
        if not self.started_on <= self.ended_on <= self.sealed_on:
            raise InvalidValue(f"verification dates out of order: removed {self.started_on}, back "
                               f"{self.ended_on}, sealed {self.sealed_on}")


@dataclass(frozen=True, slots=True)
class ImportReadings:
    fias_house_guid: FiasHouseGuid | None
    items: tuple[ReadingToImport | VerificationToImport | Unsupported | InvalidValueItem, ...]


@dataclass(frozen=True, slots=True)
class InvalidValueItem:
    transport_guid: Guid
    error: InvalidValue


@dataclass(frozen=True, slots=True)
class ExportDevices:
    """exportMeteringDeviceDataRequest: one device (root or version GUID) or a house's devices."""

    root_guid: Guid | None = None
    version_guid: Guid | None = None
    fias_house_guid: FiasHouseGuid | None = None
    archived: bool = False  # SearchArchived: the archived devices instead of those in service
    resource_code: str | None = None


@dataclass(frozen=True, slots=True)
class ExportHistory:
    """exportMeteringDeviceHistoryRequest: devices by root GUID and/or house, their readings in a date range."""

    fias_house_guids: tuple[FiasHouseGuid, ...] = ()
    device_roots: tuple[Guid, ...] = ()
    resource_codes: tuple[str, ...] = ()
    archived: bool = False  # SerchArchived: archived devices too
    entered_from: date | None = None
    entered_to: date | None = None


@dataclass(frozen=True, slots=True)
class StoredReading:
    guid: Guid
    on: date
    period: str
    values: tuple[Decimal, ...]
    flags: tuple[str, ...] = ()
    kind: ReadingKind = ReadingKind.CURRENT
    resource_code: str = ""
    posted_by: Guid | None = None
    recorded_at: object = None
    superseded: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    error: tuple[Code, str] | None = None
    flags: tuple[Flag, ...] = field(default=())


def _digits(value: Decimal) -> int:
    return max(1, len(str(int(value))))


def consumption(previous: Sequence[Decimal], current: Sequence[Decimal]) -> tuple[Decimal, bool] | None:
    """Total consumption across zones from ``previous`` to ``current``; None if the order is broken.

    The second value says whether a register rolled over to get there.
    """
    total, rolled = Decimal(0), False
    for before, now in zip(previous, current, strict=True):
        if now >= before:
            total += now - before
            continue
        span = Decimal(10) ** _digits(before)
        across = now + span - before
        if before >= span * (1 - ROLLOVER_SHARE) and across <= span * ROLLOVER_SHARE:
            total, rolled = total + across, True
            continue
        return None
    return total, rolled


def judge(reading: ReadingToImport, *, device: Device, base: DeviceResource, earlier: Sequence[StoredReading],
          following: StoredReading | None, today: date) -> Verdict:
    """The rules of DESIGN §3 for one reading; ``earlier`` are the kept readings before its period, oldest first.

    ``following`` is the nearest kept reading after it, when the reading is back-dated.
    """
    number = device.data.number
    if device.archived_on is not None:
        return Verdict((Code.DEVICE_ARCHIVED, f"device {number} ({device.root_guid}) was archived on "
                                              f"{device.archived_on}; it takes no readings"))
    if reading.on > today:
        return Verdict((Code.READING_FUTURE_DATE, f"reading dated {reading.on}, after today ({today} in UTC+12, "
                                                 "the easternmost Russian zone)"))
    start = device.data.commissioned_on or device.data.installed_on
    if start is not None and reading.on < start:
        return Verdict((Code.READING_BEFORE_COMMISSIONING,
                        f"reading dated {reading.on}, before device {number} was put into service ({start})"))
    if len(reading.values) != base.zones:
        return Verdict((Code.READING_RESOURCE_MISMATCH, f"device {number} has {base.zones} tariff zone(s); "
                                                        f"the reading gives {len(reading.values)}"))
    previous = earlier[-1] if earlier else None
    reference = previous.values if previous is not None else base.base
    step = consumption(reference, reading.values)
    if step is None:
        what = f"the previous reading ({previous.on}: {_show(previous.values)})" if previous is not None \
            else f"the device's initial value ({_show(base.base)})"
        return Verdict((Code.READING_BELOW_PREVIOUS, f"reading {_show(reading.values)} of device {number} is "
                                                     f"below {what}"))
    if following is not None and consumption(reading.values, following.values) is None:
        return Verdict((Code.READING_BELOW_PREVIOUS, f"back-dated reading {_show(reading.values)} of device "
                                                     f"{number} is above the later reading ({following.on}: "
                                                     f"{_show(following.values)})"))
    flags: list[Flag] = []
    used, rolled = step
    if rolled:
        flags.append(Flag.ROLLOVER)
    if previous is not None and len(earlier) >= 2 and _high(earlier, used, (reading.on - previous.on).days):
        flags.append(Flag.HIGH_CONSUMPTION)
    if device.next_verification_on is not None and reading.on > device.next_verification_on:
        flags.append(Flag.VERIFICATION_OVERDUE)
    return Verdict(flags=tuple(flags))


def _high(earlier: Sequence[StoredReading], used: Decimal, days: int) -> bool:
    first, last = earlier[0], earlier[-1]
    span = (last.on - first.on).days
    history = consumption(first.values, last.values)
    if span <= 0 or history is None or history[0] <= 0:
        return False
    return used / max(days, 1) > HIGH_CONSUMPTION_FACTOR * history[0] / span


def _show(values: Sequence[Decimal]) -> str:
    return " / ".join(format(v.normalize(), "f") for v in values)
