"""Month-end load: signed importMeteringDeviceValues messages of 1,000 readings (the official per-request
maximum), N concurrent senders over real HTTP to `gateway serve` + `gateway worker` processes.

Each sender is one management company's billing system posting its house's 1,000 meters, month after month.
Floor, in the same run on one core: lxml parse + XSD validation + XAdES verification of the same message,
plus a bare bulk insert of its 1,000 readings into the same table, with no gateway around it.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree
from sqlalchemy import Engine, func, insert, select

from benchmarks import baseline
from benchmarks.load import _e, _houses, _signed, baseline_seconds, conservative, deploy, drive, envelope, report
from benchmarks.setup import setup_unit_of_work
from gateway import bootstrap
from gateway.config import DatabaseConfig
from gateway.domain.metering import DeviceData, DeviceKind, DeviceResource
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry.tables import changesets, houses, messages, meter_readings, premises
from gateway.signing import verify
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate

ROOT = Path(__file__).resolve().parent.parent
DM = "http://dom.gosuslugi.ru/schema/integration/device-metering/"
MDB = "http://dom.gosuslugi.ru/schema/integration/metering-device-base/"
NSI = "http://dom.gosuslugi.ru/schema/integration/nsi-base/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/ext-bus-device-metering-service/services/DeviceMeteringAsync"
WATER = NsiRef("1", Guid("2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a"), "Холодная вода")


def _devices(gateway: bootstrap.Gateway, org: Guid, flats: list[list[str]], *,
             commissioned_on: date = date(2025, 12, 1)) -> list[list[str]]:
    """A cold-water meter in every flat (setup, not measured); returns each house's device root GUIDs."""
    roots: list[list[str]] = []
    with setup_unit_of_work(gateway, org) as uow:
        now = datetime.now(UTC)
        for house_flats in flats:
            row = uow.connection.execute(select(houses.c.guid, houses.c.fias_house_guid).join_from(
                houses, premises, premises.c.house_guid == houses.c.guid).where(
                premises.c.guid == house_flats[0])).one()
            house_roots = []
            for n, flat in enumerate(house_flats):
                data = DeviceData(number=f"ХВ-{n}", kind=DeviceKind.RESIDENTIAL, commissioned_on=commissioned_on,
                                  resources=(DeviceResource(WATER, False, (Decimal(100),)),), premises=(Guid(flat),))
                device = uow.metering.create(data, house_guid=Guid(row.guid), fias=FiasHouseGuid(row.fias_house_guid),
                                             next_verification_on=None, org=org, at=now)
                house_roots.append(str(device.root_guid))
            roots.append(house_roots)
        uow.commit()
    return roots


def readings_body(roots: list[str], month: int, *, base: int = 100) -> etree._Element:
    """The 2026-``month`` readings of one house's meters: meter n reads base + 7·month + n mod 5 (steady use)."""
    root = etree.Element(f"{{{DM}}}importMeteringDeviceValuesRequest",
                         nsmap={"dm": DM, "base": BASE, "mdb": MDB, "nsi": NSI})
    root.set("Id", "signed-data-container")
    root.set(f"{{{BASE}}}version", "10.0.1.1")
    for n, device in enumerate(roots):
        values = _e(root, DM, "MeteringDevicesValues")
        _e(values, DM, "MeteringDeviceRootGUID", device)
        current = _e(_e(values, DM, "OneRateDeviceValue"), DM, "CurrentValue")
        resource = _e(current, MDB, "MunicipalResource")
        _e(resource, NSI, "Code", WATER.code)
        _e(resource, NSI, "GUID", WATER.guid)
        _e(current, MDB, "MeteringValue", f"{base + 7 * month + n % 5}.{n % 1000:03d}")
        _e(current, DM, "DateValue", f"2026-{month:02d}-25")
        _e(current, BASE, "TransportGUID", uuid.uuid4())
    return root


def floor(engine: Engine, message: bytes, org: Guid) -> float:
    """Parse + validate + verify one message, then bulk-insert its readings: the work no gateway can skip."""
    started = time.perf_counter()
    body = parse_untrusted(message).find(f"{{{SOAP}}}Body")[0]
    validate(body, Service.DEVICE_METERING)
    verify(body)
    now = datetime.now(UTC)
    rows = []
    for values in body.iterchildren(f"{{{DM}}}MeteringDevicesValues"):
        current = values.find(f"{{{DM}}}OneRateDeviceValue/{{{DM}}}CurrentValue")
        rows.append({"guid": str(uuid.uuid4()), "device_root_guid": values.findtext(f"{{{DM}}}MeteringDeviceRootGUID"),
                     "resource_code": "1", "kind": "current", "period": current.findtext(f"{{{DM}}}DateValue")[:7],
                     "reading_date": date.fromisoformat(current.findtext(f"{{{DM}}}DateValue")),
                     "v1": Decimal(current.findtext(f"{{{MDB}}}MeteringValue")), "flags": "", "posted_by": str(org),
                     "message_guid": None, "transport_guid": current.findtext(f"{{{BASE}}}TransportGUID"),
                     "recorded_at": now})
    with engine.begin() as connection:
        anchor = connection.execute(select(messages.c.guid).limit(1)).scalar()
        changeset = connection.execute(select(func.max(changesets.c.id))).scalar()
        for row in rows:
            row["message_guid"], row["changeset_id"] = anchor, changeset
        connection.execute(insert(meter_readings), rows)
        connection.rollback()  # measure the work, keep the registry as the gateway will find it
    return time.perf_counter() - started


def run(label: str, database: DatabaseConfig, scratch: Path, *, senders: int = 8, months: int = 3,
        concurrency: int = 1) -> None:
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    roots = _devices(gateway, org, _houses(gateway, org, senders, 1000))
    # sender i posts its house's 1,000 meters for January, then February, …
    shares = [[envelope(_signed(readings_body(house, month), deployment.provider), str(org))
               for month in range(1, months + 1)] for house in roots]
    # the floor after the run takes a month nobody sent (its rows are rolled back; a month already kept would
    # collide with the kept readings' unique key)
    unsent = [envelope(_signed(readings_body(house, months + 1), deployment.provider), str(org)) for house in roots]

    def one_core(messages: list[bytes]) -> tuple[float, float]:
        return (statistics.median(floor(gateway.engine, messages[n % senders], org) for n in range(7)),
                baseline_seconds(gateway.engine, messages[:3], baseline.readings))

    before = one_core([share[0] for share in shares])
    timing = drive(deployment, shares, path=PATH, action="urn:importMeteringDeviceValues",
                   operation="importMeteringDeviceValues", concurrency=concurrency)
    floor_s, baseline_s = conservative(before, one_core(unsent))
    total = senders * months
    with gateway.engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(meter_readings)).scalar()
    assert kept == total * 1000, kept  # every reading accepted
    report(label, f"importMeteringDeviceValues 1,000/msg, {senders} senders, {total} msgs", concurrency, timing,
           total * 1000, 1000 / floor_s, floor_s, baseline_s, senders=senders)
    gateway.engine.dispose()
