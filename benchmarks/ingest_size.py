"""Ingest against the registry's size: processing a signed 1,000-reading message on an empty registry of
readings, then after other meters' readings have been stored (10,000,000 on PostgreSQL, 1,000,000 on SQLite by
default; GATEWAY_BENCH_STORED_READINGS overrides), same meters, same message shape.

The stored readings are what a registry holds after eight years: other meters (GATEWAY_BENCH_STORED_READINGS / 100
of them, copied in SQL from one registered meter) with a kept reading for each of the 100 months up to the last
month the measured house posts — so the months it posts into already hold every other meter's reading, as at a
real month end. Set-up, not measured: one INSERT … SELECT per 500 meters, kept rows of one set-up change set, then
ANALYZE. On PostgreSQL the registry's monthly partitions cover those 100 months from the start (as eight years of
the scheduler would have made them), for the empty measurement too. The measured house posts month after month,
January to August 2026: a warm-up and three timed messages before the load, the same after; the figure is the
worker's processing time (claim → result stored), median, and the after/before ratio.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import func, select, text

from benchmarks.load import _houses, _signed, deploy, envelope
from benchmarks.readings import PATH, _devices, readings_body
from benchmarks.setup import settled_heap, setup_message, setup_unit_of_work
from gateway.config import DatabaseConfig
from gateway.registry import partitions
from gateway.registry.metering import rebuild_series
from gateway.registry.tables import meter_readings, metering_devices
from gateway.soap.server import EmbeddedServer

PER_METER = 100  # months of readings each other meter holds: eight years and four months
LAST = "2026-08"  # the last month the measured house posts (ROUNDS × 2 months from January)
FIRST = partitions.shift(LAST, -(PER_METER - 1))
ROUNDS = 4  # per phase; the first is a warm-up
CHUNK = 500  # meters per INSERT … SELECT


def _other_meters(gateway, template: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``count`` meters copied from ``template`` in SQL (new GUIDs and numbers, no premises); their roots."""
    postgres = gateway.engine.dialect.name == "postgresql"
    fresh = "gen_random_uuid()::text" if postgres else "lower(hex(randomblob(16)))"
    names = [c.name for c in metering_devices.c if c.name != "id"]
    made = {"root_guid": fresh, "version_guid": fresh, "number": "'ДР-' || n", "gis_number": "NULL"}
    values = ", ".join(made.get(name, f"t.{name}") for name in names)
    numbers = "generate_series(1, :count) AS n" if postgres else \
        "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count) SELECT n FROM g) AS s"
    with gateway.engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO metering_devices ({', '.join(names)}) SELECT {values} "  # noqa: S608 - constant names
            f"FROM metering_devices AS t CROSS JOIN {numbers} WHERE t.root_guid = :template"),
            {"count": count, "template": template})
        return list(connection.execute(select(metering_devices.c.root_guid).where(
            metering_devices.c.number.like("ДР-%"))).scalars())


def _fill(gateway, org, template: str, stored: int) -> float:  # type: ignore[no-untyped-def]
    """Other meters with PER_METER monthly readings each until ``stored`` rows; returns seconds (set-up)."""
    started = time.perf_counter()
    others = _other_meters(gateway, template, max(1, stored // PER_METER))
    message = str(setup_message(gateway, org))
    postgres = gateway.engine.dialect.name == "postgresql"
    with setup_unit_of_work(gateway, org) as uow:
        changeset = uow.history.changeset_id
        params = {"org": str(org), "message": message, "changeset": changeset, "per": PER_METER,
                  "first": f"{FIRST}-01"}
        for n in range(0, len(others), CHUNK):
            chunk = others[n:n + CHUNK]
            if postgres:
                uow.connection.execute(text(
                    "INSERT INTO meter_readings (guid, device_root_guid, resource_code, kind, period, reading_date, "
                    "v1, flags, posted_by, message_guid, transport_guid, recorded_at, changeset_id) "
                    "SELECT gen_random_uuid()::text, d, '1', 'current', "
                    "to_char(CAST(:first AS date) + make_interval(months => g), 'YYYY-MM'), "
                    "(CAST(:first AS date) + make_interval(months => g, days => 24))::date, g * 7, '', :org, "
                    ":message, gen_random_uuid()::text, now(), :changeset "
                    "FROM unnest(CAST(:devices AS text[])) AS d CROSS JOIN generate_series(0, :per - 1) AS g"),
                    {**params, "devices": chunk})
            else:
                uow.connection.execute(text(
                    "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < :per), "
                    "d(root) AS (SELECT value FROM json_each(:devices)) "
                    "INSERT INTO meter_readings (guid, device_root_guid, resource_code, kind, period, reading_date, "
                    "v1, flags, posted_by, message_guid, transport_guid, recorded_at, changeset_id) "
                    "SELECT lower(hex(randomblob(16))), d.root, '1', 'current', "
                    "strftime('%Y-%m', date(:first, '+' || g.n || ' months')), "
                    "date(:first, '+' || g.n || ' months', '+24 days'), g.n * 7, '', :org, :message, "
                    "lower(hex(randomblob(16))), strftime('%Y-%m-%d %H:%M:%f', 'now'), :changeset FROM d, g"),
                    {**params, "devices": json.dumps(chunk)})
        uow.commit()
    with gateway.engine.begin() as connection:
        rebuild_series(connection)  # the series' bounds, as save_readings would have kept them
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def run(label: str, database: DatabaseConfig, scratch: Path) -> None:
    default = 10_000_000 if label == "Postgres" else 1_000_000
    stored = int(os.environ.get("GATEWAY_BENCH_STORED_READINGS", default))
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    roots = _devices(gateway, org, _houses(gateway, org, 1, 1000))[0]
    with gateway.engine.begin() as connection:  # eight years of months, as the scheduler would have made them
        made = len(partitions.ensure(connection, through=partitions.month_of(datetime.now(UTC).date()), since=FIRST))
    session = requests.Session()
    phases: dict[str, list[float]] = {"empty": [], "stored": []}
    month = 0
    with EmbeddedServer(gateway.app) as server:
        for phase in phases:
            if phase == "stored":
                setup_s = _fill(gateway, org, roots[0], stored)
            with settled_heap():  # the worker's collector once this phase is set up (benchmarks.setup)
                for n in range(ROUNDS):
                    month += 1
                    wire = envelope(_signed(readings_body(roots, month), deployment.provider), str(org))
                    response = session.post(server.url + PATH, data=wire, timeout=120, headers={
                        "Content-Type": "text/xml", "SOAPAction": "urn:importMeteringDeviceValues"})
                    assert response.status_code == 200, response.text[:300]
                    t = time.perf_counter()
                    assert gateway.worker.drain() == 1
                    if n:
                        phases[phase].append(time.perf_counter() - t)
    with gateway.engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(meter_readings)).scalar() or 0
        ours = connection.execute(select(func.count()).select_from(meter_readings).where(
            meter_readings.c.device_root_guid.in_(roots))).scalar()
    assert ours == month * 1000, ours  # every measured reading accepted
    before, after = (statistics.median(phases[p]) for p in phases)
    print(f"{label:<9} ingest vs registry size, 1,000-reading message, worker processing (median of {ROUNDS - 1}):"
          f" empty {before * 1000:.0f} ms | with {total - ours:,} stored readings {after * 1000:.0f} ms "
          f"({after / before:.2f}x; target 1.2x) [stored in {setup_s:.0f} s; {PER_METER} months {FIRST}..{LAST}"
          + (f", {made} monthly partitions made ahead of the run" if made else "") + "]")
    gateway.engine.dispose()
