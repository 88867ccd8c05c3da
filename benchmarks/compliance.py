"""The compliance report at scale: N organisations, 10 premises each (one house), a device per premises with a
year of monthly readings, on PostgreSQL, as of a day.

The registry is built by set-based INSERT … SELECT over generate_series in the registry's own schema (setup,
not measured): organisations, their management contracts or charters and mandates, houses, premises, accounts,
metering devices and readings; every versioned table gets its history rows, each organisation's objects in a
change set of that organisation recorded on a day of its own (so "house posted within 3 working days of the
mandate's start" has on-time and late cases), readings recorded on time (95%), late (5%) or never (2%).
The report then runs in a process of its own (its peak RSS is its own) and is written as JSON and as CSV;
printed are the time of each, the peak RSS, and the report's totals. Sizes: GATEWAY_BENCH_COMPLIANCE
(organisations, default "10000,100000": 100,000 organisations is 1,000,000 premises, 1,000,000 devices and
about 11.7 million readings).
"""

# ruff: noqa: S608 - the set-up's SQL is built from constants and integers, never from input

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection, text

from benchmarks.setup import setup_message
from gateway import bootstrap
from gateway.config import Config, DatabaseConfig
from gateway.domain.values import Guid
from gateway.registry.metering import rebuild_series
from gateway.registry.tables import HISTORY, metadata

ROOT = Path(__file__).resolve().parent.parent
PER_ORG = 10
AS_OF = "2026-12-01"
#: change set ids: CS (the operator's set-up), CS + i (organisation i's posting), after them a month each
CS = 1_000_000
#: each versioned table's rows → the index of their organisation (ids are chosen so it is derivable)
_ORG_OF = {"organisations": "0", "documents": "t.id", "mandates": "t.id", "houses": "t.id",
           "premises": f"(t.id - 1) / {PER_ORG} + 1", "metering_devices": f"(t.id - 1) / {PER_ORG} + 1",
           "accounts": f"(t.id - 1) / {PER_ORG} + 1",
           "account_accommodations": f"(t.service_id::bigint - 1) / {PER_ORG} + 1"}


def _sql(connection: Connection, statement: str) -> None:
    """A statement as written (no bind parameters: ``:1`` in a cadastral number is text), in the transaction."""
    connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]


def _guid(prefix: str, number: str) -> str:
    """A deterministic GUID in SQL (an md5 read as a uuid)."""
    return f"md5('{prefix}' || ({number})::text)::uuid::text"


def _build(connection: Connection, n: int, message: str) -> None:
    day0 = "(date '2023-06-01' + (i % 1000))"  # organisation i's contract signed; its mandate starts 10 days on
    recorded = f"(({day0} + (i % 17))::timestamp + interval '6 hours') AT TIME ZONE 'UTC'"
    steps = [
        f"INSERT INTO changesets (id, kind, actor, role, reason, started_at, committed_at) VALUES "
        f"({CS}, 'operator', 'bench', 'operator', 'benchmark set-up', '2023-01-02T09:00:00Z', "
        f"'2023-01-02T09:00:00Z')",
        f"INSERT INTO changesets (id, kind, org_guid, message_guid, started_at, committed_at) "
        f"SELECT {CS} + i, 'message', {_guid('o', 'i')}, '{message}', {recorded}, {recorded} "
        f"FROM generate_series(1, {n}) i",
        f"INSERT INTO documents (id, guid, version_guid, version_number, kind, org_guid, number, signed_on, "
        f"effective_on, state, metering_end_day, metering_end_next_month, created_at, updated_at) "
        f"SELECT i, {_guid('d', 'i')}, {_guid('dv', 'i')}, 1, CASE WHEN i % 20 = 0 THEN 'charter' ELSE 'contract' "
        f"END, {_guid('o', 'i')}, 'Д-' || i, {day0}, {day0} + 10, 'approved', "
        f"CASE WHEN i % 2 = 0 THEN 25 END, CASE WHEN i % 2 = 0 THEN false END, {recorded}, {recorded} "
        f"FROM generate_series(1, {n}) i",
        f"INSERT INTO mandates (id, object_version_guid, document_guid, kind, org_guid, fias_house_guid, starts_on, "
        f"annulled) SELECT i, {_guid('mv', 'i')}, {_guid('d', 'i')}, CASE WHEN i % 20 = 0 THEN 'charter' ELSE "
        f"'contract' END, {_guid('o', 'i')}, {_guid('f', 'i')}, {day0} + 10, false FROM generate_series(1, {n}) i",
        f"INSERT INTO houses (id, guid, fias_house_guid, unique_number, house_type, cadastral_status, "
        f"cadastral_number, total_square, state_code, state_guid, used_year, floor_count, underground_floor_count, "
        f"oktmo, olson_tz_code, olson_tz_guid, cultural_heritage, posted_by, version_guid, created_at, updated_at) "
        f"SELECT i, {_guid('h', 'i')}, {_guid('f', 'i')}, lpad(i::text, 25, '0') || '-00000', 'apartment', "
        f"CASE WHEN i % 10 = 0 THEN 'missing' ELSE 'number' END, CASE WHEN i % 10 = 0 THEN NULL ELSE "
        f"'77:02:' || lpad(i::text, 7, '0') || ':1' END, 540, '2', {_guid('s', '0')}, 1975, 9, 1, "
        f"lpad((i % 85 + 1)::text, 2, '0') || '000000000', '1', {_guid('t', '0')}, false, {_guid('o', 'i')}, "
        f"{_guid('hv', 'i')}, {recorded}, {recorded} FROM generate_series(1, {n}) i",
        # premises p of organisation i = (p - 1) / 10 + 1: nine flats and a shop; 61% with a cadastral number,
        # 19% explicitly without, 20% saying nothing (the national fill rate of 2023)
        f"INSERT INTO premises (id, guid, house_guid, kind, number, cadastral_status, cadastral_number, total_area, "
        f"is_common_property, version_guid, created_at, updated_at) "
        f"SELECT p, {_guid('p', 'p')}, {_guid('h', f'(p - 1) / {PER_ORG} + 1')}, "
        f"CASE WHEN p % {PER_ORG} = 0 THEN 'non_residential' ELSE 'residential' END, ((p - 1) % {PER_ORG} + 1)::text, "
        f"CASE WHEN p % 100 < 61 THEN 'number' WHEN p % 100 < 80 THEN 'no_number' ELSE 'missing' END, "
        f"CASE WHEN p % 100 < 61 THEN '77:02:' || lpad(p::text, 9, '0') || ':2' END, 54.3, false, "
        f"{_guid('pv', 'p')}, now(), now() FROM generate_series(1, {n * PER_ORG}) p",
        # an open management account for nine premises in ten
        f"INSERT INTO accounts (id, guid, account_type, account_number, posted_by, is_renter, version_guid, "
        f"created_at, updated_at) SELECT p, {_guid('a', 'p')}, 'uo', 'Л' || p, "
        f"{_guid('o', f'(p - 1) / {PER_ORG} + 1')}, false, {_guid('av', 'p')}, now(), now() "
        f"FROM generate_series(1, {n * PER_ORG}) p WHERE p % 10 <> 3",
        f"INSERT INTO account_accommodations (account_guid, ordinal, premises_guid, house_guid, service_id) "
        f"SELECT guid, 1, {_guid('p', 'id')}, {_guid('h', f'(id - 1) / {PER_ORG} + 1')}, lpad(id::text, 13, '0') "
        f"FROM accounts",
        # a device per premises, in service since 2023; one in twenty past its verification date
        f"INSERT INTO metering_devices (id, root_guid, version_guid, version_number, house_guid, fias_house_guid, "
        f"posted_by, kind, number, installed_on, commissioned_on, next_verification_on, remote, temperature_sensor, "
        f"pressure_sensor, resources, accounts, houses, created_at, updated_at) "
        f"SELECT p, {_guid('m', 'p')}, {_guid('mv2', 'p')}, 1, {_guid('h', f'(p - 1) / {PER_ORG} + 1')}, "
        f"{_guid('f', f'(p - 1) / {PER_ORG} + 1')}, {_guid('o', f'(p - 1) / {PER_ORG} + 1')}, 'individual', "
        f"'№' || p, date '2023-01-10', date '2023-01-15', CASE WHEN p % 20 = 0 THEN date '2026-06-01' ELSE "
        f"date '2030-01-01' END, false, false, false, '[]', '[]', '[]', now(), now() "
        f"FROM generate_series(1, {n * PER_ORG}) p",
    ]
    for statement in steps:
        _bulk(connection, statement.split()[2], statement)
    for name, org in _ORG_OF.items():
        _history(connection, name, org)
    # a year of readings, December 2025 to November 2026: the first reading of the month recorded on the 20th
    # (on time), for 5% on the 10th of the next month (late), for 2% never (missing) — a change set a month
    months = ", ".join(f"({m}, {CS + n + 1 + m})" for m in range(12))
    _sql(connection, (
        f"INSERT INTO changesets (id, kind, message_guid, started_at, committed_at) SELECT c, 'message', "
        f"'{message}', ts, ts FROM (SELECT c, ((date '2025-12-20' + make_interval(months => m))::timestamp "
        f"+ interval '9 hours') AT TIME ZONE 'UTC' AS ts FROM (VALUES {months}) v(m, c)) x"))
    _bulk(connection, "meter_readings", (
        f"INSERT INTO meter_readings (guid, device_root_guid, resource_code, kind, period, reading_date, v1, flags, "
        f"posted_by, message_guid, transport_guid, recorded_at, changeset_id) "
        f"SELECT {_guid('r', 'd.id * 12 + m')}, d.root_guid, '1', 'current', to_char(month, 'YYYY-MM'), "
        f"(month + interval '19 days')::date, 100 + m, '', d.posted_by, '{message}', {_guid('rt', 'd.id * 12 + m')}, "
        f"CASE WHEN (d.id * 13 + m) % 20 = 0 THEN (month + interval '1 month 9 days 9 hours') "
        f"ELSE (month + interval '19 days 9 hours') END AT TIME ZONE 'UTC', {CS + n + 1} + m "
        f"FROM metering_devices d CROSS JOIN generate_series(0, 11) m "
        f"CROSS JOIN LATERAL (SELECT (date '2025-12-01' + make_interval(months => m))::timestamp AS month) t "
        f"WHERE (d.id * 7 + m) % 50 <> 0"))
    for table in ("documents", "mandates", "houses", "premises", "accounts", "metering_devices", "changesets"):
        _sql(connection, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


BUILT = ("organisations", "documents", "mandates", "houses", "premises", "accounts", "account_accommodations",
         "metering_devices", "meter_readings", "meter_series", "changesets", *(HISTORY[t].name for t in _ORG_OF))


def _bulk(connection: Connection, table: str, statement: str) -> None:
    """A load of millions of rows: the table's indexes, foreign keys and unique constraints (those no foreign key
    needs) dropped first and made again after, as a bulk load does (row by row, random GUIDs in four indexes and
    three foreign keys made it 10,000 rows a second)."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    constraints = cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint c WHERE conrelid = %s::regclass "
        "AND (contype = 'f' OR contype = 'u' AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' "
        "AND r.conindid = c.conindid)) ORDER BY contype DESC", (table,)).fetchall()
    indexes = cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (table, table)).fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(statement)
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _history(connection: Connection, name: str, org: str) -> None:
    """The current rows of ``name`` as the open versions of their objects, recorded in their organisation's
    change set (organisations: the set-up's) at its time."""
    columns = [c.name for c in metadata.tables[name].columns]
    _bulk(connection, HISTORY[name].name, (
        f"INSERT INTO {HISTORY[name].name} ({', '.join(columns)}, recorded_from, changeset_id) "
        f"SELECT {', '.join('t.' + c for c in columns)}, c.started_at, c.id FROM {name} t "
        f"JOIN changesets c ON c.id = {CS} + {org}"))


def _organisations(connection: Connection, n: int) -> None:
    _bulk(connection, "organisations", (
        f"INSERT INTO organisations (guid, name, role, ogrn, inn, created_at) "
        f"SELECT {_guid('o', 'i')}, 'УК №' || i, CASE WHEN i % 20 = 0 THEN 'hoa' ELSE 'management_company' END, "
        f"(1020000000000 + i)::text, (7700000000 + i)::text, '2023-01-02T09:00:00Z' "
        f"FROM generate_series(1, {n}) i"))


_CHILD = """
import json, resource, sys, time
from datetime import date, timedelta
from pathlib import Path
from gateway import bootstrap
from gateway.config import Config, DatabaseConfig
from gateway.reports import render
from gateway.reports.evaluate import Filters
from gateway.reports.report import ComplianceReport, end_of_day
url, schema, fmt, out, as_of = sys.argv[1:6]
gateway = bootstrap.build(Config(database=DatabaseConfig(url=url, schema=schema)), answers=False)
day = date.fromisoformat(as_of)
filters = Filters(period_from=day.replace(year=day.year - 1) + timedelta(days=1), period_to=day)
started = time.perf_counter()
with gateway.engine.connect() as connection:
    report = ComplianceReport(connection, as_of=end_of_day(day), filters=filters)
    written = render.write(report, fmt, Path(out))
seconds = time.perf_counter() - started
t = report.totals
print(json.dumps({"seconds": seconds, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "organisations": t.organisations, "in_breach": t.in_breach,
                  "by_obligation": {k: v.__dict__ for k, v in sorted(t.by_obligation.items())},
                  "bytes": sum(Path(p).stat().st_size for p in written)}))
"""


def run(database: DatabaseConfig, sizes: list[int] | None = None) -> None:
    sizes = sizes or [int(s) for s in os.environ.get("GATEWAY_BENCH_COMPLIANCE", "10000,100000").split(",")]
    print(f"\nCompliance report, PostgreSQL, as of {AS_OF} over the twelve months before (report in its own process)")
    for size in sizes:
        _reset(database)
        gateway = bootstrap.build(Config(database=database), upgrade=True, answers=False)
        started = time.perf_counter()
        with gateway.engine.begin() as connection:
            _organisations(connection, size)
        message = setup_message(gateway, Guid(str(_first_org(gateway))))
        with gateway.engine.begin() as connection:
            _build(connection, size, str(message))
            rebuild_series(connection)  # each meter's first period, as save_readings would have kept it
        with gateway.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in BUILT:  # a registry in service has its statistics (autovacuum)
                connection.execute(text(f"VACUUM ANALYZE {table}"))
        built = time.perf_counter() - started
        gateway.engine.dispose()
        with tempfile.TemporaryDirectory() as scratch:
            for fmt in ("json", "csv"):
                out = Path(scratch) / f"compliance.{fmt}"
                child = subprocess.run([sys.executable, "-c", _CHILD, database.url, database.schema, fmt, str(out),
                                        AS_OF], capture_output=True, text=True, check=False, cwd=ROOT)
                if child.returncode != 0:
                    print(f"  {size:>7,} organisations, {fmt}: the report failed:\n{child.stderr[-2000:]}")
                    continue
                r = json.loads(child.stdout.strip().splitlines()[-1])
                readings = r["by_obligation"].get("readings", {})
                whole = "all reported" if r["organisations"] == size else f"ONLY {r['organisations']:,} reported"
                print(f"  {size:>7,} organisations ({size * PER_ORG:,} premises and devices), {fmt:<4}: "
                      f"{r['seconds']:6.1f} s, peak RSS {r['rss_mib']:4.0f} MiB, {r['bytes'] / 2**20:6.1f} MiB "
                      f"written; {whole}, {r['in_breach']:,} in breach; readings due {readings.get('due', 0):,} "
                      f"(late {readings.get('late', 0):,}, missing {readings.get('missing', 0):,}) "
                      f"(registry built in {built:.0f} s, not measured)")
    _reset(database)


def _first_org(gateway: bootstrap.Gateway) -> str:
    with gateway.engine.connect() as connection:
        return str(connection.execute(text("SELECT min(guid) FROM organisations")).scalar())


def _reset(database: DatabaseConfig) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(database.url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE; '
                                f'CREATE SCHEMA "{database.schema}"'))
    admin.dispose()
