"""Soak with faults (issue 19): the deployment shape on PostgreSQL — `gateway serve` (gunicorn, 2 processes)
and two `gateway worker` processes — under paced senders, each one management company's billing system
posting its house's meters month after month (the history grows), for about 3 minutes
(GATEWAY_BENCH_SOAK_SECONDS). Faults, a quarter of the way apart:

1. a worker process killed with SIGKILL inside its transaction (restarted at once, as a supervisor would);
2. a gunicorn worker process killed with SIGKILL (gunicorn starts another);
3. a PostgreSQL restart (`pg_ctlcluster … restart -m fast`), only as root with pg_ctlcluster, otherwise
   skipped with a line saying so; GATEWAY_BENCH_SOAK_RESTART=0 skips it too (the restart interrupts
   everyone on that server).

A sender whose request fails (connection reset, 5xx) resends the same envelope — the same MessageGUID, so
the gateway answers the original Ack and never stores it twice — as a provider's software does.

Printed: recovery after each fault (fault → first ack, fault → every sender acked again, fault → the
messages in flight at the fault done), the resident memory of every process at start, middle and end with
the change over the last two thirds, and the end state: acked = done, readings = accepted × meters,
each reading written once, archive intact.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import OperationalError

from benchmarks.load import _houses, _signed, _wait, deploy, envelope
from benchmarks.readings import BASE, DM, MDB, PATH, _devices, readings_body
from benchmarks.setup import answered_with_errors
from gateway.config import DatabaseConfig
from gateway.messages import archive
from gateway.registry.tables import messages, meter_readings
from gateway.xmlparse import parse_untrusted

ROOT = Path(__file__).resolve().parent.parent
SENDERS, METERS, PACE_S = 4, 100, 1.0  # one message of 100 readings per sender per second
HOUSES_PER_SENDER = 3  # a sender's messages go round its houses, a month further each round
LEASE_S = 20  # renewed every third; recovery after a worker kill is bounded by it
OPERATION = "importMeteringDeviceValues"


def monthly(roots: list[str], k: int) -> bytes:
    """The ``k``-th month's readings of a house (from January 2020, when the management contract starts):
    dates and values grow with ``k``."""
    body = readings_body(roots, 1)
    on = date(2020 + k // 12, k % 12 + 1, 25)
    for n, current in enumerate(body.iter(f"{{{DM}}}CurrentValue")):
        current.find(f"{{{MDB}}}MeteringValue").text = f"{100 + 7 * k + n % 5}.{n % 1000:03d}"
        current.find(f"{{{DM}}}DateValue").text = on.isoformat()
    return body


@dataclass
class Sender:
    """One house's billing system: its envelopes in order, paced; resends on failure."""

    name: str
    envelopes: list[bytes]
    acks: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, the gateway's MessageGUID)
    failures: int = 0

    def run(self, url: str, until: float, stop: threading.Event) -> None:
        session = requests.Session()
        started = time.monotonic()
        for k, message in enumerate(self.envelopes):
            slot = started + k * PACE_S
            if slot >= until:
                return
            time.sleep(max(0.0, slot - time.monotonic()))  # pacing of the sender, not synchronisation
            while not stop.is_set():
                try:
                    response = session.post(url + PATH, data=message, timeout=30, headers={
                        "Content-Type": "text/xml", "SOAPAction": f"urn:{OPERATION}"})
                    if response.status_code == 200:
                        guid = parse_untrusted(response.content).findtext(f".//{{{BASE}}}Ack/{{{BASE}}}MessageGUID")
                        self.acks.append((time.monotonic(), str(guid)))
                        break
                except requests.RequestException:
                    session = requests.Session()
                self.failures += 1
                time.sleep(0.25)  # the provider's resend back-off


@dataclass
class Fault:
    name: str
    at: float  # monotonic
    wall: datetime
    in_flight: list[str]  # messages claimed by a worker at the fault
    note: str = ""
    back: float | None = None  # monotonic: the server answers again (a restart)


class Processes:
    """gunicorn and the two workers, started as an operator would, with their resident memory sampled."""

    def __init__(self, env: dict[str, str], scratch: Path, port: int) -> None:
        self.env, self.scratch, self.port = env, scratch, port
        self.server = self._start(["serve", "--port", str(port), "--workers", "2"], "serve", {})
        self.workers = {name: self._worker(name) for name in ("worker-1", "worker-2")}
        self.samples: dict[str, list[tuple[float, int]]] = {}
        self.killed: dict[int, str] = {}  # pid → what happened to it

    def _start(self, args: list[str], log: str, extra: dict[str, str]) -> subprocess.Popen[bytes]:
        out = (self.scratch / f"{log}.log").open("ab")
        return subprocess.Popen([sys.executable, "-m", "gateway.launcher", *args], env={**self.env, **extra},
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def _worker(self, name: str) -> subprocess.Popen[bytes]:
        return self._start(["worker"], name, {"PGAPPNAME": f"soak-{name}", "GATEWAY_LOGGING__LEVEL": "INFO"})

    def gunicorn_workers(self) -> list[int]:
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def named(self) -> list[tuple[str, int]]:
        return ([("gunicorn master", self.server.pid)] + [("gunicorn worker", pid) for pid in self.gunicorn_workers()]
                + [(name, process.pid) for name, process in self.workers.items()])

    def sample(self, at: float) -> None:
        for name, pid in self.named():
            rss = _rss_kib(pid)
            if rss and pid not in self.killed:
                self.samples.setdefault(f"{name} (pid {pid})", []).append((at, rss))

    def kill(self, pid: int, at: float) -> None:
        self.killed[pid] = f"killed at {at:.0f} s"
        os.kill(pid, signal.SIGKILL)

    def kill_worker(self, name: str, at: float) -> None:
        self.kill(self.workers[name].pid, at)
        self.workers[name].wait(30)
        self.workers[name] = self._worker(name)  # the supervisor's restart

    def stop(self) -> None:
        for process in (self.server, *self.workers.values()):
            if process.poll() is None:
                process.terminate()
        for process in (self.server, *self.workers.values()):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _in_flight(engine: Engine) -> list[str]:
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(messages.c.guid).where(
                messages.c.state == "processing", messages.c.claim_token.is_not(None))).scalars())
    except OperationalError:  # the server is away (someone else restarting it): nothing to list
        return []


def _busy_worker(engine: Engine) -> tuple[str, list[str]] | None:
    """A worker inside its processing transaction (open for 100 ms or more), with the messages claimed at
    that moment (one statement: the snapshot and the choice agree)."""
    try:
        connection = engine.connect()
    except OperationalError:
        return None
    with connection:
        row = connection.execute(text(
            "SELECT (SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'soak-worker-%' "
            "        AND state IN ('active', 'idle in transaction') AND now() - xact_start > interval '100 ms' "
            "        ORDER BY xact_start LIMIT 1), "
            "       ARRAY(SELECT guid FROM messages WHERE state = 'processing' AND claim_token IS NOT NULL)")).one()
    return (row[0].removeprefix("soak-"), list(row[1])) if row[0] else None


def _restart_command() -> list[str] | None:
    if os.environ.get("GATEWAY_BENCH_SOAK_RESTART", "1") == "0":
        return None
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0 or not Path("/etc/postgresql").is_dir():
        return None
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"]


def run(database: DatabaseConfig, scratch: Path) -> None:
    seconds = float(os.environ.get("GATEWAY_BENCH_SOAK_SECONDS", "180"))
    deployment = deploy(database, scratch)
    gateway, org = deployment.gateway, deployment.org
    houses = _devices(gateway, org, _houses(gateway, org, SENDERS * HOUSES_PER_SENDER, METERS),
                      commissioned_on=date(2020, 1, 1))
    per_sender = int(seconds / PACE_S) + 2
    if per_sender // HOUSES_PER_SENDER > 12 * 6:
        raise SystemExit("GATEWAY_BENCH_SOAK_SECONDS too long: the months would run past 2025")
    senders = [Sender(f"sender {n + 1}", [
        envelope(_signed(monthly(houses[n * HOUSES_PER_SENDER + k % HOUSES_PER_SENDER], k // HOUSES_PER_SENDER),
                         deployment.provider), str(org)) for k in range(per_sender)]) for n in range(SENDERS)]
    engine = gateway.engine
    port = 18800 + os.getpid() % 100
    env = {**deployment.env, "GATEWAY_WORKER__LEASE_SECONDS": str(LEASE_S), "GATEWAY_WORKER__POLL_INTERVAL": "0.05"}
    print(f"Soak on PostgreSQL: gunicorn 2 processes + 2 worker processes, {SENDERS} senders x {METERS} readings "
          f"every {PACE_S:.0f} s ({HOUSES_PER_SENDER} houses each, a month further each round), {seconds:.0f} s, "
          f"lease {LEASE_S} s renewed every {LEASE_S / 3:.1f} s; "
          f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    processes = Processes(env, scratch, port)
    url = f"http://127.0.0.1:{port}"
    faults: list[Fault] = []
    stop = threading.Event()  # senders give up resending (the run failed)
    try:
        _wait(lambda: requests.get(url + "/health", timeout=2).status_code == 200, 90)
        started = time.monotonic()
        until = started + seconds
        threads = [threading.Thread(target=s.run, args=(url, until, stop), name=s.name, daemon=True)
                   for s in senders]
        for thread in threads:
            thread.start()
        restart = _restart_command()
        plan = [(0.25, "worker kill -9"), (0.5, "gunicorn worker kill -9"), (0.75, "PostgreSQL restart")]
        next_sample = started
        while time.monotonic() < until:
            now = time.monotonic()
            if now >= next_sample:
                processes.sample(now - started)
                next_sample += 5
            if plan and now >= started + plan[0][0] * seconds:
                _, name = plan.pop(0)
                fault = _inject(name, engine, processes, restart, started)
                if fault is not None:
                    faults.append(fault)
            time.sleep(0.05)  # the conductor's tick
        for thread in threads:
            thread.join(60)
        acked = {guid for s in senders for _, guid in s.acks}
        _wait(lambda: _done(engine) >= len(acked), 300)
        processes.sample(time.monotonic() - started)
    finally:
        stop.set()
        processes.stop()
    _report(engine, senders, faults, processes, scratch, started)
    engine.dispose()


def _inject(name: str, engine: Engine, processes: Processes, restart: list[str] | None,
            started: float) -> Fault | None:
    if name == "worker kill -9":
        deadline = time.monotonic() + 30
        while (busy := _busy_worker(engine)) is None and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for a worker inside its transaction
        victim, claimed = busy or ("worker-1", _in_flight(engine))
        fault = Fault(name, time.monotonic(), datetime.now(UTC), claimed, note=f"{victim} killed")
        processes.kill_worker(victim, fault.at - started)
        return fault
    if name == "gunicorn worker kill -9":
        victim = processes.gunicorn_workers()[0]
        fault = Fault(name, time.monotonic(), datetime.now(UTC), [])
        processes.kill(victim, fault.at - started)
        return fault
    if restart is None:
        why = ("GATEWAY_BENCH_SOAK_RESTART=0" if os.environ.get("GATEWAY_BENCH_SOAK_RESTART") == "0"
               else "needs root and pg_ctlcluster")
        print(f"  PostgreSQL restart: skipped ({why})")
        return None
    fault = Fault(name, time.monotonic(), datetime.now(UTC), _in_flight(engine))
    subprocess.run(restart, check=True, capture_output=True, timeout=120)
    fault.back = time.monotonic()
    fault.note = f"the restart command took {fault.back - fault.at:.2f} s"
    return fault


def _done(engine: Engine) -> int:
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(messages).where(
                messages.c.operation == OPERATION, messages.c.state == "done")).scalar() or 0)
    except OperationalError:
        return -1


def _report(engine: Engine, senders: list[Sender], faults: list[Fault], processes: Processes, scratch: Path,
            started: float) -> None:
    acks = sorted((at, guid) for s in senders for at, guid in s.acks)
    with engine.connect() as connection:
        processed = {guid: (at, attempts) for guid, at, attempts in connection.execute(select(
            messages.c.guid, messages.c.processed_at, messages.c.attempts).where(messages.c.operation == OPERATION))}
        released = {line.split("message_guid=")[1].split()[0] for log in scratch.glob("worker-*.log")
                    for line in log.read_text(errors="replace").splitlines() if "event=claim_released" in line}
        for fault in faults:
            first = next((at for at, _ in acks if at > fault.at), None)
            every = max(next((at for at, _ in s.acks if at > fault.at), float("inf")) for s in senders)
            # stranded: in flight at the fault and claimed again after it (its first claim died with the fault)
            stranded = [guid for guid in fault.in_flight if processed.get(guid, (None, 1))[1] > 1]
            line = (f"  {fault.name:<24} at {fault.at - started:5.1f} s: first ack after {_s(first, fault.at)}, "
                    f"every sender acked again after {_s(every, fault.at)}")
            if fault.name == "worker kill -9":  # the killed worker's claim is stranded until its lease runs out
                line += (f"; claimed at the fault {len(fault.in_flight)} (all done after "
                         f"{_after(fault, fault.in_flight, processed)}), of which stranded {len(stranded)} (done "
                         f"after {_after(fault, stranded, processed)})")
            elif fault.name == "PostgreSQL restart" and fault.back is not None:  # transactions cut off
                back = fault.back
                gaps = [b - a for (a, _), (b, _) in zip(acks, acks[1:], strict=False) if b > fault.at and a < back + 30]
                interrupted = sorted(released)
                again = max(next((at for at, _ in sender.acks if at > back), float("inf")) for sender in senders)
                line = (f"  {fault.name:<24} at {fault.at - started:5.1f} s, back at {back - started:5.1f} s: first "
                        f"ack after the return {_s(next((at for at, _ in acks if at > back), None), back)}, every "
                        f"sender acked again within {_s(again, back)}; "
                        f"longest pause between acks {max(gaps, default=0):.2f} s; claims given back "
                        f"{len(interrupted)}, done {_after(fault, interrupted, processed)} after the restart began")
            print(line + (f" [{fault.note}]" if fault.note else ""))
        print(f"  resends after a failed request: {sum(s.failures for s in senders)}; load average at end "
              f"{os.getloadavg()[0]:.2f}")
        print("  resident memory (MiB) start / middle / end, change over the last two thirds:")
        for name, samples in processes.samples.items():
            pid = int(name.rsplit(" ", 1)[-1].rstrip(")"))
            if pid in processes.killed or len(samples) < 3:
                values = [kib / 1024 for _, kib in samples]
                print(f"    {name:<32} {values[0]:6.1f} / {values[len(values) // 2]:6.1f} / {values[-1]:6.1f}   "
                      f"{processes.killed.get(pid, 'ended early')}, {len(samples)} samples from {samples[0][0]:.0f} s")
                continue
            values = [kib / 1024 for _, kib in samples]
            third = values[len(values) // 3]
            tail = values[len(values) // 3:]
            print(f"    {name:<32} {values[0]:6.1f} / {values[len(values) // 2]:6.1f} / {values[-1]:6.1f}   "
                  f"{(values[-1] - third) / third * 100:+5.1f}% (range {min(tail):.1f}-{max(tail):.1f}, "
                  f"from {samples[0][0]:.0f} s)")
        _end_state(connection, acks)
    events: dict[str, int] = {}
    for log in scratch.glob("worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if "event=" in line and "event=processed" not in line:
                event = line[line.index("event="):].split()[0]
                events[event] = events.get(event, 0) + 1
    print("  worker events: " + ", ".join(f"{k.removeprefix('event=')} {v}" for k, v in sorted(events.items())))


def _end_state(c: Connection, acks: list[tuple[float, str]]) -> None:
    acked = {guid for _, guid in acks}
    states = dict(c.execute(select(messages.c.state, func.count()).where(
        messages.c.operation == OPERATION).group_by(messages.c.state)).all())
    done = set(c.execute(select(messages.c.guid).where(
        messages.c.operation == OPERATION, messages.c.state == "done")).scalars())
    refused = answered_with_errors(c, OPERATION)
    rows, distinct = c.execute(select(func.count(), func.count(meter_readings.c.transport_guid.distinct())
                                      ).select_from(meter_readings)).one()
    retried = c.execute(select(func.count()).select_from(messages).where(
        messages.c.operation == OPERATION, messages.c.attempts > 1)).scalar()
    report = archive.verify(c)
    ok = acked == done and rows == distinct == len(acked) * METERS and not refused and report.intact
    print(f"  end state: {len(acked)} acked, {len(done)} done ({len(acked - done)} lost, states {states}); readings "
          f"{rows} = {len(acked)} x {METERS}: {rows == len(acked) * METERS}, each written once: {rows == distinct}; "
          f"answered with errors {refused}; claimed again after a fault {retried}; archive "
          f"{'intact' if report.intact else 'BROKEN'} ({report.entries} entries) -> {'OK' if ok else 'FAILED'}")


def _after(fault: Fault, guids: list[str], processed: dict[str, tuple[datetime | None, int]]) -> str:
    """Seconds from the fault until the last of ``guids`` was done."""
    if not guids:
        return "-"
    done = [processed.get(guid, (None, 0))[0] for guid in guids]
    if any(at is None for at in done):
        return "never"
    latest = max((at if at.tzinfo else at.replace(tzinfo=UTC)) - fault.wall for at in done if at is not None)
    return f"{latest.total_seconds():.1f} s"


def _s(at: float | None, since: float) -> str:
    return "never" if at is None or at == float("inf") else f"{at - since:.2f} s"
