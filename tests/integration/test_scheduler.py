"""Scheduling: two `gateway scheduler` processes on one registry (APScheduler's job store in its database) fire
the same schedule, and each fire time is run exactly once; the schedule's fire times are computed alike by
every scheduler. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from gateway.bootstrap import Gateway
from gateway.registry.tables import reconciliation_runs, scheduler_jobs
from gateway.sync import scheduler
from gateway.sync.scheduler import fire_time, run_in_scheduler


def test_fire_times_are_the_schedules_own_whoever_computes_them() -> None:
    assert fire_time("*/2 * * * * *", datetime(2026, 12, 1, 10, 0, 5, 700, tzinfo=UTC)) == \
        datetime(2026, 12, 1, 10, 0, 4, tzinfo=UTC)
    assert fire_time("0 3 * * *", datetime(2026, 12, 1, 3, 40, tzinfo=UTC)) == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def _scheduler(config, tmp_path: Path, n: int) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GATEWAY_DATABASE__URL": config.database.url,
           "GATEWAY_DATABASE__SCHEMA": config.database.schema, "GATEWAY_LOGGING__LEVEL": "INFO",
           "GATEWAY_RECONCILIATION__AUTHORITY_SCHEDULE": "*/2 * * * * *"}
    log = (tmp_path / f"scheduler-{n}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "scheduler"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def _runs(gateway: Gateway) -> list[tuple[datetime, str]]:
    with gateway.engine.connect() as connection:
        return [(r.scheduled_for, r.status) for r in connection.execute(
            select(reconciliation_runs.c.scheduled_for, reconciliation_runs.c.status)
            .where(reconciliation_runs.c.scheduled_for.is_not(None)).order_by(reconciliation_runs.c.scheduled_for))]


def test_two_schedulers_run_each_fire_time_once(gateway: Gateway, config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schedulers = [_scheduler(config, tmp_path, n) for n in (1, 2)]
    try:
        deadline = time.monotonic() + 60
        while len(_runs(gateway)) < 4 and time.monotonic() < deadline:  # polls the registry, not a timer
            assert all(p.poll() is None for p in schedulers), (tmp_path / "scheduler-1.log").read_text()
            time.sleep(0.2)
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGINT)
        for process in schedulers:  # a stop waits for a run in progress; on a loaded machine that takes a while
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError("a scheduler did not stop within 90 s of SIGINT: "
                                     + (tmp_path / "scheduler-1.log").read_text()
                                     + (tmp_path / "scheduler-2.log").read_text()) from None
    runs = _runs(gateway)
    assert len(runs) >= 4, runs
    assert len({when for when, _ in runs}) == len(runs)  # one run per fire time
    assert all(when.second % 2 == 0 and when.microsecond == 0 for when, _ in runs)
    assert {status for _, status in runs} == {"succeeded"}
    logs = "".join((tmp_path / f"scheduler-{n}.log").read_text() for n in (1, 2))
    assert "event=reconciliation_started" in logs
    assert "reason=already_run" in logs or "reason=running_elsewhere" in logs  # the other one saw them too
    with gateway.engine.connect() as connection:
        stored = connection.execute(select(scheduler_jobs.c.id)).scalars().all()
    # the job store in the registry's database; on PostgreSQL with the partitions' maintenance beside the job
    assert sorted(stored) == _expected(gateway)


def _expected(gateway: Gateway) -> list[str]:
    postgres = gateway.engine.dialect.name == "postgresql"
    return sorted(["reconcile:authority"] + ([scheduler.PARTITIONS_JOB] if postgres else []))


def test_the_demo_runs_a_job_through_an_in_process_scheduler(gateway: Gateway) -> None:
    outcome = run_in_scheduler(gateway, "authority", timeout=60)
    assert outcome is not None and outcome.status == "succeeded"
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(reconciliation_runs)).scalar() == 1
        # the one-off job is gone from the store; the configured schedule (authority, daily) stays
        assert sorted(connection.execute(select(scheduler_jobs.c.id)).scalars().all()) == _expected(gateway)
