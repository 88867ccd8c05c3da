"""The load benchmark's CPU accounting: each process group's CPU seconds over a run, and the bounds it prints
from them (issue 18: a missed ratio is given with its measured reason)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from benchmarks import load
from gateway.config import DatabaseConfig
from gateway.registry.db import make_engine

# after its start-up (which falls before the first snapshot), 0.4 s of CPU, then it ends (its parent waits for
# it, as gunicorn's master does for a worker, and lives on), then a mark that it is done
BURN = ("import time\ntime.sleep(0.8)\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass")


def test_the_meter_gives_each_process_tree_its_own_cpu_time(tmp_path: Path) -> None:
    # the "server" burns 0.4 s of CPU in a child of its own that ends before the second snapshot (gunicorn's
    # workers are its children; a backend that exits is the postmaster's); the "worker" only sleeps
    done = tmp_path / "burnt"
    server = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys\n"
                               f"subprocess.run([sys.executable, '-c', {BURN!r}])\n"
                               f"open({str(done)!r}, 'w').close()\nimport time; time.sleep(60)"])
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)  # the interpreters are up (their start-up is before the first snapshot, as in the bench)
        meter = load._CpuMeter(server.pid, worker.pid, postgres=None)
        before = meter.snapshot()
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        cpu = meter.since(before)
    finally:
        for process in (*psutil.Process(server.pid).children(recursive=True), server, worker):
            process.kill()
            process.wait()
    assert 0.35 <= cpu.serve <= 0.6, cpu
    assert cpu.worker < 0.05, cpu
    assert cpu.database is None and cpu.gateway == pytest.approx(cpu.serve + cpu.worker)


def test_the_database_is_metered_only_as_its_own_server_s_processes(database: DatabaseConfig) -> None:
    engine = make_engine(database.url, schema=database.schema)
    try:
        pid = load.postmaster(engine)
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite runs inside the gateway's processes")
        assert pid is not None  # the CI server is on this machine, read as root
        with engine.connect() as connection:
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            assert backend in {p.pid for p in load._tree(pid)}
        assert os.getpid() not in {p.pid for p in load._tree(pid)}
    finally:
        engine.dispose()


def test_the_bounds_follow_from_the_measured_cpu() -> None:
    # 10 messages: serve 100 ms, worker 200, database 100 a message = 400 ms of CPU a message on 2 cores
    timing = load.Timing([0.1], started=0.0, acked=1.0, finished=2.5,
                         cpu=load.Cpu(serve=1.0, worker=2.0, database=1.0, senders=0.5))
    line = load.cpu_line(timing, 10, floor_s=0.1, baseline_s=0.2, senders=8, cores=2)
    assert "serve 100.0 ms + worker 200.0 + database 100.0 = 400.0 ms" in line
    assert "250.0 ms of wall a message, the 2 cores 90% busy" in line  # (4 + 0.5) s of CPU in 2.5 s on 2 cores
    assert "≤ 0.50 of the floor" in line and "≤ 1.00x the baseline" in line
    assert "mean ack ≥ 8 × 100.0 / 2 = 400 ms" in line
