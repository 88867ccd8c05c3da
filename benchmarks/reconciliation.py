"""The cadastral reconciliation job at scale: a registry of N premises against an EGRN extract of the same N.

The world is synthetic and deterministic (``gateway.sync.sources.synthetic``: planted differences at known
fractions); the registry is bulk-loaded from it (setup, not measured) and the extract written in the real
format (cached between runs). The job then runs in a process of its own, so its peak memory (maximum resident
set) is its own: printed are the run's time, its peak RSS, the EGRN records staged per second, and whether the
findings equal what was planted. Sizes: GATEWAY_BENCH_RECONCILE (default "100000,1000000").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks.setup import BENCH_SETUP
from gateway import bootstrap, orgfile
from gateway.config import Config, DatabaseConfig
from gateway.registry.tables import houses, premises
from gateway.sync.sources.synthetic import world, write_egrn_folder

ROOT = Path(__file__).resolve().parent.parent
PER_HOUSE = 100
CACHE = Path(tempfile.gettempdir()) / "dom-gateway-bench-egrn"
#: the plants the cadastral job must find, and the kinds it reports them as
EXPECTED = {"missing_number": "cadastral.candidate", "area_mismatch": "cadastral.area_mismatch",
            "unknown_number": "cadastral.unknown_to_register", "purpose_mismatch": "cadastral.purpose_mismatch"}


def _extract(premises_count: int) -> Path:
    folder = CACHE / f"{premises_count}"
    done = folder.with_name(folder.name + ".complete")  # beside it: the extract folder holds extracts only
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_egrn_folder(folder, world(2026, premises_count // PER_HOUSE, PER_HOUSE),
                          files=max(1, premises_count // 100_000))
        done.touch()
    return folder


def _load(gateway: bootstrap.Gateway, org: str, premises_count: int) -> None:
    now = datetime.now(UTC)
    facts = world(2026, premises_count // PER_HOUSE, PER_HOUSE)
    house_rows: list[dict[str, Any]] = []
    premises_rows: list[dict[str, Any]] = []
    serial = 0

    def flush() -> None:
        with gateway.engine.begin() as connection:
            if house_rows:
                connection.execute(insert(houses), house_rows)
            if premises_rows:
                connection.execute(insert(premises), premises_rows)
        house_rows.clear()
        premises_rows.clear()

    for house in facts.houses():
        guid = str(uuid.UUID(int=house.index + 1))
        house_rows.append({"id": house.index + 1, "guid": guid, "fias_house_guid": house.fias_guid,
                           "unique_number": f"{house.index + 1:025d}-00000", "house_type": "apartment",
                           "cadastral_status": "number", "cadastral_number": house.cadastral_number,
                           "total_square": 5400, "state_code": "2", "state_guid": guid, "used_year": 1975,
                           "floor_count": 9, "underground_floor_count": 1, "oktmo": house.oktmo,
                           "olson_tz_code": "1", "olson_tz_guid": guid, "cultural_heritage": False, "posted_by": org,
                           "version_guid": guid, "created_at": now, "updated_at": now})
        for fact in facts.premises_of(house):
            serial += 1
            number = fact.registry_cadastral_number
            premises_rows.append({"id": serial, "guid": fact.gar_guid, "house_guid": guid,
                                  "kind": "residential" if fact.residential else "non_residential",
                                  "number": fact.number, "cadastral_status": "number" if number else "missing",
                                  "cadastral_number": number, "total_area": fact.area, "version_guid": fact.gar_guid,
                                  "created_at": now, "updated_at": now})
        if len(premises_rows) >= 20_000:
            flush()
    flush()


_CHILD = """
import json, resource, sys, time
from gateway import bootstrap
from gateway.config import Config, DatabaseConfig
from gateway.sync.runner import run_job
url, schema, source = sys.argv[1:4]
gateway = bootstrap.build(Config(database=DatabaseConfig(url=url, schema=schema)), answers=False)
started = time.perf_counter()
outcome = run_job(gateway, "cadastral", source=source, triggered_by="bench")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "status": outcome.status, "staged": outcome.staged, "error": outcome.error,
                  "found": outcome.counts.found, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(label: str, database: DatabaseConfig, sizes: list[int] | None = None) -> None:
    sizes = sizes or [int(s) for s in os.environ.get("GATEWAY_BENCH_RECONCILE", "100000,1000000").split(",")]
    print(f"\nCadastral reconciliation, {label}: the registry against an EGRN extract of the same size "
          "(job in its own process)")
    for size in sizes:
        extract = _extract(size)
        gateway = bootstrap.build(Config(database=database), upgrade=True, answers=False)
        mc = orgfile.read(ROOT / "fixtures" / "organisations.toml")[0].organisation
        with gateway.unit_of_work(BENCH_SETUP) as uow:
            if uow.organisations.get(mc.guid) is None:
                uow.organisations.add(mc)
                uow.commit()
        started = time.perf_counter()
        _load(gateway, str(mc.guid), size)
        loaded = time.perf_counter() - started
        gateway.engine.dispose()
        child = subprocess.run([sys.executable, "-c", _CHILD, database.url, database.schema, str(extract)],
                               capture_output=True, text=True, check=False, cwd=ROOT)
        if child.returncode != 0:
            print(f"  {size:>9,} premises: the job failed:\n{child.stderr[-2000:]}")
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        if result["status"] != "succeeded":
            print(f"  {size:>9,} premises: the run ended {result['status']}: {result.get('error')}")
            _reset(database)
            continue
        planted = world(2026, size // PER_HOUSE, PER_HOUSE).planted()
        wanted = {EXPECTED[k]: n for k, n in planted.items() if k in EXPECTED}
        exact = all(result["found"].get(kind, 0) == n for kind, n in wanted.items())
        print(f"  {size:>9,} premises: {result['seconds']:6.1f} s ({result['staged'] / result['seconds']:,.0f} "
              f"EGRN records/s staged+compared), peak RSS {result['rss_mib']:.0f} MiB; findings "
              f"{'= planted' if exact else 'DIFFER from planted'} {dict(sorted(result['found'].items()))} "
              f"(registry loaded in {loaded:.0f} s, not measured)")
        _reset(database)


def _reset(database: DatabaseConfig) -> None:
    """An empty registry for the next size."""
    from sqlalchemy import create_engine, text

    if database.url.startswith("sqlite"):
        Path(database.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    admin = create_engine(database.url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE; '
                                f'CREATE SCHEMA "{database.schema}"'))
    admin.dispose()
