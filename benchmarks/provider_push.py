"""The provider toolkit end to end: `gateway-provider push readings FILE` of 100,000 readings against a real server.

The gateway (SQLite, and PostgreSQL when GATEWAY_BENCH_PG_URL or GATEWAY_TEST_PG_URL is set) runs in this
process — its HTTP server and one worker — with 1,000 cold-water meters per house registered as setup (not
measured). The tool runs as its own process, as a provider runs it: it reads the CSV, checks every row, builds
and XSD-checks 100 requests of 1,000 readings, signs each (GOST), journals it, sends it, polls for its result
and records every row's outcome. Printed: the wall time, its phases (plan = read + check + build + XSD; send
and poll), and the share spent sleeping until a poll was due.

Two poll schedules: ``short`` (first getState 1 s after the Ack, then every second: what the tool itself costs)
and, with GATEWAY_BENCH_OFFICIAL_POLLING=1, the official guidance (10 s, 60 s, …), whose waits dominate.
GATEWAY_BENCH_PUSH_READINGS sets the number of readings (default 100,000). The setup (100 houses of 1,000
flats, a meter in each, through the registry one device at a time) takes minutes per database and is not
measured.

    .venv/bin/python -m benchmarks.provider_push
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import _houses, deploy  # noqa: E402
from benchmarks.readings import WATER, _devices  # noqa: E402
from gateway.config import DatabaseConfig  # noqa: E402
from gateway.messages.worker import WorkerThread  # noqa: E402
from gateway.registry.tables import meter_readings  # noqa: E402
from gateway.signing import keys  # noqa: E402
from gateway.soap.server import EmbeddedServer  # noqa: E402

SCHEDULES = {"short": (1.0, [1.0]), "official": (10.0, [60.0, 300.0, 900.0, 1800.0])}


def _config(scratch: Path, url: str, org: str, provider: keys.Issued, gateway_cert: bytes, schedule: str) -> Path:
    keys.write_pem(provider, scratch / "org.key", scratch / "org.pem")
    (scratch / "gateway.pem").write_bytes(gateway_cert)
    first, intervals = SCHEDULES[schedule]
    config = scratch / "provider.toml"
    config.write_text(f'[gateway]\nurl = "{url}"\norg_guid = "{org}"\ngateway_cert = "gateway.pem"\n'
                      f'[signing]\nkey = "org.key"\ncert = "org.pem"\n'
                      f"[polling]\nfirst = {first}\nintervals = {intervals}\n"
                      f'[push]\nnsi = ["{ROOT / "fixtures" / "nsi"}"]\n', encoding="utf-8")
    return config


def _readings_csv(path: Path, roots: list[list[str]], count: int) -> None:
    lines = ["device_root_guid;date;resource;value"]
    for house in roots:
        for n, root in enumerate(house):
            if len(lines) > count:
                break
            lines.append(f"{root};25.10.2026;{WATER.code};{100 + n % 7},{n % 1000:03d}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def run(label: str, database: DatabaseConfig, scratch: Path, *, readings: int, schedule: str) -> None:
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    houses = max(1, -(-readings // 1000))
    roots = _devices(gateway, org, _houses(gateway, org, houses, min(1000, readings)))
    file = scratch / "readings.csv"
    _readings_csv(file, roots, readings)
    worker = WorkerThread(gateway.worker).start()
    try:
        with EmbeddedServer(gateway.app) as server:
            gateway_cert = (scratch / "gw.crt").read_bytes()
            config = _config(scratch, server.url, str(org), deployment.provider, gateway_cert, schedule)
            command = [str(Path(sys.executable).with_name("gateway-provider")), "push", "readings", str(file),
                       "--config", str(config), "--quiet"]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=7200)
            elapsed = time.perf_counter() - started
    finally:
        worker.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    with gateway.engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(meter_readings)).scalar()
    assert kept == readings, kept
    phases = re.search(r"planned in ([\d.]+) s", done.stdout + done.stderr)
    waited = re.search(r"\(([\d.]+) s waiting for results\)", done.stdout)
    plan_s = float(phases.group(1)) if phases else float("nan")
    wait_s = float(waited.group(1)) if waited else float("nan")
    print(f"{label:<10} push {readings:>7,} readings ({schedule} polling): {elapsed:7.1f} s end to end = "
          f"{readings / elapsed:6.0f} readings/s | plan {plan_s:6.1f} s | waiting on polls {wait_s:6.1f} s "
          f"({wait_s / elapsed:4.0%}) | {houses * 1:,} request(s) of ≤ 1,000")
    gateway.engine.dispose()


def run_all() -> None:
    readings = int(os.environ.get("GATEWAY_BENCH_PUSH_READINGS", "100000"))
    schedules = ["short"] + (["official"] if os.environ.get("GATEWAY_BENCH_OFFICIAL_POLLING") == "1" else [])
    print("\nProvider toolkit: gateway-provider push readings, a separate process, against the in-process server "
          "and worker:")
    for schedule in schedules:
        with tempfile.TemporaryDirectory() as scratch:
            run("SQLite", DatabaseConfig(url=f"sqlite:///{scratch}/push.sqlite3"), Path(scratch),
                readings=readings, schedule=schedule)
    pg_url = os.environ.get("GATEWAY_BENCH_PG_URL") or os.environ.get("GATEWAY_TEST_PG_URL")
    if not pg_url:
        print("PostgreSQL: skipped (set GATEWAY_BENCH_PG_URL)")
        return
    admin = create_engine(pg_url)
    schema = f"gw_bench_{uuid.uuid4().hex[:10]}"
    try:
        for schedule in schedules:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
            with tempfile.TemporaryDirectory() as scratch:
                run("Postgres", DatabaseConfig(url=pg_url, schema=schema), Path(scratch), readings=readings,
                    schedule=schedule)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    run_all()
