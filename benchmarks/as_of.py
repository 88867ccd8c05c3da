"""As-of reads at scale: counts of premises with and without a cadastral number, per house and per OKTMO code,
as the registry knew them at a past moment, beside the same counts of the present.

The registry (GATEWAY_BENCH_PREMISES premises, default 1,000,000, in houses of 100, spread over ten OKTMO codes)
is loaded through the real history writer (``versions.History.capture``, in change sets of 10,000 premises);
then 10% of the premises are changed once (a missing cadastral number supplied), again through the writer.
The as-of moment lies between the two, so the as-of read must leave the corrections out: its counts are checked
against counts taken at that moment. Printed: time of each query (median of 3), the as-of / current ratio,
and the peak Python memory of a query (the aggregation runs in the database; memory is the rows returned).
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, text, update

from benchmarks.setup import BENCH_SETUP
from gateway import bootstrap
from gateway.config import Config, DatabaseConfig
from gateway.domain.provenance import Provenance
from gateway.registry.queries import Reader
from gateway.registry.tables import houses, premises

PER_HOUSE = 100
CHUNK_HOUSES = 100
OKTMO = [f"45{n:03d}000000" for n in range(10)]


def _house(h: int, org: str, now: datetime) -> dict[str, Any]:
    return {"id": h + 1, "guid": str(uuid.UUID(int=h + 1)), "fias_house_guid": str(uuid.uuid4()),
            "unique_number": f"{h + 1:025d}-00000", "house_type": "apartment", "cadastral_status": "number",
            "cadastral_number": f"77:02:{h:07d}:1", "total_square": 5400, "state_code": "2",
            "state_guid": str(uuid.uuid4()), "used_year": 1975, "floor_count": 9, "underground_floor_count": 1,
            "oktmo": OKTMO[h % len(OKTMO)], "olson_tz_code": "1", "olson_tz_guid": str(uuid.uuid4()),
            "cultural_heritage": False, "posted_by": org, "version_guid": str(uuid.uuid4()), "created_at": now,
            "updated_at": now}


def _premises(h: int, f: int, serial: int, now: datetime) -> dict[str, Any]:
    """61% with a number (the national fill rate of 2023), 19% explicitly without, 20% saying nothing."""
    state = "number" if serial % 100 < 61 else "no_number" if serial % 100 < 80 else "missing"
    return {"id": serial, "guid": str(uuid.UUID(int=(1 << 64) + serial)), "house_guid": str(uuid.UUID(int=h + 1)),
            "kind": "residential", "number": str(f + 1), "cadastral_status": state,
            "cadastral_number": f"77:02:{h:07d}:{f + 2}" if state == "number" else None, "total_area": 54.3,
            "version_guid": str(uuid.uuid4()), "created_at": now, "updated_at": now}


def _load(gateway: bootstrap.Gateway, org: str, total: int) -> None:
    now = datetime.now(UTC)
    house_count = total // PER_HOUSE
    for start in range(0, house_count, CHUNK_HOUSES):
        chunk = range(start, min(start + CHUNK_HOUSES, house_count))
        with gateway.unit_of_work(BENCH_SETUP) as uow:
            uow.connection.execute(insert(houses), [_house(h, org, now) for h in chunk])
            rows = [_premises(h, f, h * PER_HOUSE + f + 1, now) for h in chunk for f in range(PER_HOUSE)]
            uow.connection.execute(insert(premises), rows)
            uow.history.capture(houses, "guid", [str(uuid.UUID(int=h + 1)) for h in chunk], new=True)
            uow.history.capture(premises, "guid", [r["guid"] for r in rows], new=True)
            uow.commit()


def _correct(gateway: bootstrap.Gateway, total: int) -> int:
    """Supply a cadastral number for 10% of the premises (those saying nothing, then others): one version each."""
    chosen = [serial for serial in range(1, total + 1) if serial % 10 == 0]
    provenance = Provenance.of_operator("bench", "cadastral numbers supplied from the register")
    for start in range(0, len(chosen), 10_000):
        batch = chosen[start:start + 10_000]
        with gateway.unit_of_work(provenance) as uow:
            uow.connection.execute(update(premises).where(premises.c.id == bindparam("b_id")).values(
                cadastral_status="number", cadastral_number=bindparam("b_number"), version_guid=bindparam("b_v")),
                [{"b_id": s, "b_number": f"77:03:{s:07d}:1", "b_v": str(uuid.uuid4())} for s in batch])
            uow.history.capture(premises, "guid", [str(uuid.UUID(int=(1 << 64) + s)) for s in batch])
            uow.commit()
    return len(chosen)


def _timed(query: Callable[[], Any]) -> tuple[float, float, Any]:
    """Median seconds of three runs, and the peak Python memory (MiB) of one."""
    times, result = [], None
    for _ in range(3):
        started = time.perf_counter()
        result = query()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    query()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20, result


def run(label: str, database: DatabaseConfig, total: int | None = None) -> None:
    total = total or int(os.environ.get("GATEWAY_BENCH_PREMISES", "1000000"))
    gateway = bootstrap.build(Config(database=database), upgrade=True, answers=False)
    org = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
    from benchmarks.setup import ROOT
    from gateway import orgfile

    mc = orgfile.read(ROOT / "fixtures" / "organisations.toml")[0].organisation
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        uow.organisations.add(mc)
        uow.commit()
    started = time.perf_counter()
    _load(gateway, org, total)
    loaded = time.perf_counter() - started
    time.sleep(0.01)
    moment = datetime.now(UTC)
    with gateway.reader() as reader:
        then_by_house = reader.cadastral_counts(by="house")
        then_by_oktmo = reader.cadastral_counts(by="oktmo")
    time.sleep(0.01)
    started = time.perf_counter()
    changed = _correct(gateway, total)
    corrected = time.perf_counter() - started
    if gateway.engine.dialect.name == "postgresql":
        with gateway.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("houses", "premises", "houses_history", "premises_history", "changesets"):
                connection.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"\nAs-of reads, {label}: {total:,} premises in {total // PER_HOUSE:,} houses, {changed:,} changed once "
          f"(loaded through the history writer in {loaded:.0f} s, changes in {corrected:.0f} s)")
    for by, expected in (("house", then_by_house), ("oktmo", then_by_oktmo)):
        with gateway.engine.connect() as connection:
            now_s, now_mib, _ = _timed(lambda: Reader(connection).cadastral_counts(by=by))  # noqa: B023
            past_s, past_mib, past = _timed(lambda: Reader(connection, moment).cadastral_counts(by=by))  # noqa: B023
        assert past == expected, f"as-of counts per {by} differ from those taken at the moment"
        print(f"  cadastral counts per {by:<5} current {now_s * 1000:7.0f} ms ({now_mib:5.1f} MiB)   "
              f"as of the moment {past_s * 1000:7.0f} ms ({past_mib:5.1f} MiB)   as-of/current "
              f"{past_s / now_s:.2f}x   groups {len(past):,}")
    gateway.engine.dispose()
