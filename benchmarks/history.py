"""Cost in a meter's history: processing one signed 1,000-reading importMeteringDeviceValues message when its
meters already keep 0, 100 and 1,000 readings each (8 years of monthly readings is about 100).

One registry holds three houses of 1,000 flats with a cold-water meter in each flat; the meters of the second
and third house are given 100 and 1,000 earlier monthly readings by a bulk insert (set-up, not measured), as
kept rows of one set-up change set, so the rules find exactly the history a registry of that age has. Then
the three houses post month after month, interleaved (house 0, 100, 1,000, then again), each message
accepted over HTTP by the in-process server and processed by the in-process worker; the figure is the
worker's processing time (claim → result stored), median per depth, and its ratio to depth 0.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import requests
from sqlalchemy import func, insert, select

from benchmarks.load import _houses, _signed, deploy, envelope
from benchmarks.readings import PATH, WATER, readings_body
from benchmarks.setup import settled_heap, setup_message, setup_unit_of_work
from gateway.config import DatabaseConfig
from gateway.domain.metering import DeviceData, DeviceKind, DeviceResource
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry import partitions
from gateway.registry.metering import rebuild_series
from gateway.registry.tables import houses, meter_readings, premises
from gateway.soap.server import EmbeddedServer

DEPTHS = (0, 100, 1000)
#: the month of the first measured message; the preloaded history ends the month before
FIRST = (2026, 1)  # readings_body posts 2026-month readings
STEP = 7  # m³ a month: steady consumption, so no reading is flagged high


def _months_before(count: int) -> list[tuple[int, int]]:
    """The ``count`` months before FIRST, oldest first."""
    year, month = FIRST
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append((year, month))
    return out[::-1]


def _devices(gateway, org: Guid, flats: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """A meter in each flat of one house, in service since 1930 (before any preloaded reading)."""
    with setup_unit_of_work(gateway, org) as uow:
        row = uow.connection.execute(select(houses.c.guid, houses.c.fias_house_guid).join_from(
            houses, premises, premises.c.house_guid == houses.c.guid).where(premises.c.guid == flats[0])).one()
        now = datetime.now(UTC)
        roots = []
        for n, flat in enumerate(flats):
            data = DeviceData(number=f"ХВ-{n}", kind=DeviceKind.RESIDENTIAL, commissioned_on=date(1930, 1, 1),
                              resources=(DeviceResource(WATER, False, (Decimal(0),)),), premises=(Guid(flat),))
            device = uow.metering.create(data, house_guid=Guid(row.guid), fias=FiasHouseGuid(row.fias_house_guid),
                                         next_verification_on=None, org=org, at=now)
            roots.append(str(device.root_guid))
        uow.commit()
    return roots


def _preload(gateway, org: Guid, roots: list[str], depth: int) -> None:  # type: ignore[no-untyped-def]
    """``depth`` kept monthly readings for each meter, in batches (set-up)."""
    if not depth:
        return
    message = str(setup_message(gateway, org))
    months = _months_before(depth)
    with setup_unit_of_work(gateway, org) as uow:
        changeset = uow.history.changeset_id
        now = datetime.now(UTC)
        batch: list[dict[str, object]] = []
        for n, root in enumerate(roots):
            for i, (year, month) in enumerate(months, start=1):
                batch.append({"guid": str(uuid.uuid4()), "device_root_guid": root, "resource_code": WATER.code,
                              "kind": "current", "period": f"{year:04d}-{month:02d}",
                              "reading_date": date(year, month, 25), "v1": Decimal(STEP * i + n % 5),
                              "flags": "", "posted_by": str(org), "message_guid": message,
                              "transport_guid": str(uuid.uuid4()), "recorded_at": now, "changeset_id": changeset})
                if len(batch) >= 20_000:
                    uow.connection.execute(insert(meter_readings), batch)
                    batch = []
        if batch:
            uow.connection.execute(insert(meter_readings), batch)
        uow.commit()


def run(label: str, database: DatabaseConfig, scratch: Path, *, rounds: int = 10) -> None:
    # the messages post the 25th of 2026-01 … 2026-(rounds + 1), none of them after today (a reading dated in the
    # future is refused): 10 rounds (the first warms up) and one for memory, 9 samples per depth, where 6 left the
    # ratio moving by ±0.2 between runs on this machine
    assert date(2026, rounds + 1, 25) <= datetime.now(UTC).date(), "readings_body posts past months of 2026"
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    started = time.perf_counter()
    with gateway.engine.begin() as connection:  # PostgreSQL: ten years of monthly partitions, older ones before
        partitions.ensure(connection, through=partitions.month_of(datetime.now(UTC).date()), since="2016-01")
    meters = {depth: _devices(gateway, org, flats)
              for depth, flats in zip(DEPTHS, _houses(gateway, org, len(DEPTHS), 1000), strict=True)}
    for depth, roots in meters.items():
        _preload(gateway, org, roots, depth)
    with gateway.engine.begin() as connection:
        rebuild_series(connection)  # the series' bounds, as save_readings would have kept them
    with gateway.engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(meter_readings)).scalar()
    setup_s = time.perf_counter() - started
    timings: dict[int, list[float]] = {depth: [] for depth in DEPTHS}
    peaks: dict[int, float] = {depth: 0.0 for depth in DEPTHS}
    session = requests.Session()
    with EmbeddedServer(gateway.app) as server, settled_heap():
        def post(depth: int, month_index: int) -> float:
            body = readings_body(meters[depth], month_index, base=STEP * depth)  # continues the preloaded history
            wire = envelope(_signed(body, deployment.provider), str(org))
            response = session.post(server.url + PATH, data=wire, timeout=120,
                                    headers={"Content-Type": "text/xml",
                                             "SOAPAction": "urn:importMeteringDeviceValues"})
            assert response.status_code == 200, response.text[:300]
            t = time.perf_counter()
            processed = gateway.worker.drain()
            assert processed == 1, processed
            return time.perf_counter() - t

        for month_index in range(1, rounds + 1):
            for depth in DEPTHS:  # interleaved: the machine's drift falls on every depth alike
                elapsed = post(depth, month_index)
                if month_index > 1:  # the first round warms caches and plans
                    timings[depth].append(elapsed)
        for depth in DEPTHS:  # one more month each, untimed, for the worker's peak memory
            tracemalloc.start()
            post(depth, rounds + 1)
            peaks[depth] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    rounds += 1
    with gateway.engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(meter_readings).where(
            meter_readings.c.superseded_at.is_(None))).scalar()
        flagged = connection.execute(select(func.count()).select_from(meter_readings).where(
            meter_readings.c.flags != "")).scalar()
    assert kept == stored + rounds * len(DEPTHS) * 1000, (kept, stored)  # every reading accepted
    base = statistics.median(timings[0])
    print(f"{label:<9} history depth, 1,000-reading message, worker processing (median of {rounds - 2}; "
          f"{stored:,} readings preloaded in {setup_s:.0f} s; {flagged} flagged):")
    for depth in DEPTHS:
        median = statistics.median(timings[depth])
        print(f"  {depth:5d} kept readings per meter: {median * 1000:7.1f} ms  ({median / base:4.2f}x depth 0)  "
              f"peak traced {peaks[depth]:6.1f} MiB")
    gateway.engine.dispose()
