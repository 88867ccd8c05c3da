"""Load benchmark in the deployment shape: `gateway serve` (gunicorn) + `gateway worker` as processes,
N concurrent senders over real HTTP posting signed importAccountData messages of 100 accounts.

Floor, measured in the same run on one core: what any receiver must do with such a message — lxml parse,
XSD validation, XAdES verification — plus a bare bulk insert of the same 100 accounts and their
accommodations into the same database, with no gateway around it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests
from lxml import etree
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

ROOT = Path(__file__).resolve().parent.parent

from benchmarks.setup import BENCH_SETUP, answered_with_errors, fias_of, grant, house_body, setup_unit_of_work  # noqa: E402
from gateway import bootstrap, orgfile  # noqa: E402
from gateway.config import Config, DatabaseConfig  # noqa: E402
from gateway.domain.values import Guid  # noqa: E402
from gateway.registry.tables import account_accommodations, accounts, messages, premises  # noqa: E402
from gateway.services import houses as house_services  # noqa: E402
from gateway.signing import keys, sign, verify  # noqa: E402
from gateway.soap import houses_xml  # noqa: E402
from gateway.xmlparse import parse_untrusted  # noqa: E402
from gateway.xsd import Service, validate  # noqa: E402

HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
IR = "http://dom.gosuslugi.ru/schema/integration/individual-registry-base/"
AB = "http://dom.gosuslugi.ru/schema/integration/account-base/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"


def _e(parent: etree._Element, ns: str, tag: str, text: Any = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def premises_guid_prefix(premises_guids: list[str]) -> str:
    """A house's accounts get numbers of their own: an organisation's open accounts have distinct numbers."""
    return premises_guids[0][:8]


def accounts_body(premises_guids: list[str]) -> etree._Element:
    root = etree.Element(f"{{{HM}}}importAccountRequest", nsmap={"hm": HM, "base": BASE, "ir": IR, "ab": AB})
    root.set("Id", "signed-data-container")
    root.set(f"{{{BASE}}}version", "10.0.1.1")
    for n, guid in enumerate(premises_guids):
        account = _e(root, HM, "Account")
        _e(account, HM, "isUOAccount", "true")
        _e(account, HM, "LivingPersonsNumber", 2)
        _e(account, HM, "TotalSquare", "54.3")
        _e(_e(account, HM, "Accommodation"), HM, "PremisesGUID", guid)
        person = _e(_e(account, HM, "PayerInfo"), HM, "Ind")
        _e(person, IR, "Surname", f"Плательщик{n}")
        _e(person, IR, "FirstName", "Иван")
        _e(account, BASE, "TransportGUID", uuid.uuid4())
        _e(account, AB, "AccountNumber", f"LS{premises_guid_prefix(premises_guids)}-{n:03d}")
    return root


def envelope(body: etree._Element, org: str) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP, "base": BASE})
    header = _e(_e(env, SOAP, "Header"), BASE, "RequestHeader")
    _e(header, BASE, "Date", "2026-11-23T12:00:00+03:00")
    _e(header, BASE, "MessageGUID", uuid.uuid4())
    _e(header, BASE, "orgPPAGUID", org)
    _e(env, SOAP, "Body").append(body)
    data: bytes = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    return data


def _houses(gateway: bootstrap.Gateway, org: Guid, count: int, flats: int) -> list[list[str]]:
    """Registers ``count`` houses of ``flats`` flats directly through the service (setup, not measured)."""
    bodies = [house_body(flats) for _ in range(count)]
    grant(gateway, org, [fias_of(b) for b in bodies])
    with setup_unit_of_work(gateway, org) as uow:
        sender = uow.organisations.get(org)
        message = uow.provenance.message if uow.provenance is not None else None
        assert sender is not None and message is not None
        for body in bodies:
            results = house_services.import_house_uo(uow, sender, houses_xml.decode_import_house_uo(body),
                                                     message=message, now=datetime.now(UTC))
            assert all(r.ok for r in results), results[0]
        uow.commit()
        rows = uow.connection.execute(select(premises.c.house_guid, premises.c.guid)
                                      .where(premises.c.kind == "residential").order_by(premises.c.id)).all()
    by_house: dict[str, list[str]] = {}
    for house, guid in rows:
        by_house.setdefault(house, []).append(guid)
    return list(by_house.values())


def floor(engine: Engine, message: bytes, org: Guid) -> float:
    """Parse + validate + verify one message, then bulk-insert its accounts: the work no gateway can skip."""
    started = time.perf_counter()
    body = parse_untrusted(message).find(f"{{{SOAP}}}Body")[0]
    validate(body, Service.HOUSE_MANAGEMENT)
    verify(body)
    guids = [a.findtext(f"{{{HM}}}Accommodation/{{{HM}}}PremisesGUID") for a in body.findall(f"{{{HM}}}Account")]
    now = datetime.now(UTC)
    rows = [{"guid": str(uuid.uuid4()), "account_type": "uo", "posted_by": str(org), "is_renter": False,
             "version_guid": str(uuid.uuid4()), "created_at": now, "updated_at": now, "payer_kind": "person",
             "payer_surname": "x", "payer_first_name": "y"} for _ in guids]
    with engine.begin() as connection:
        connection.execute(insert(accounts), rows)
        house = connection.execute(select(premises.c.house_guid).where(premises.c.guid == guids[0])).scalar()
        connection.execute(insert(account_accommodations), [
            {"account_guid": r["guid"], "ordinal": 1, "premises_guid": g, "house_guid": house,
             "service_id": f"F{uuid.uuid4().hex[:12]}"} for r, g in zip(rows, guids, strict=True)])
        connection.rollback()  # measure the work, keep the registry as the gateway will find it
    return time.perf_counter() - started


@dataclass
class Deployment:
    """A registry with the management company and its TEST-ONLY GOST certificate, and the answer-signing pair."""

    gateway: bootstrap.Gateway
    org: Guid
    provider: keys.Issued
    env: dict[str, str]
    scratch: Path  # the processes' logs: serve.log, worker.log


def deploy(database: DatabaseConfig, scratch: Path) -> Deployment:
    mc = orgfile.read(ROOT / "fixtures" / "organisations.toml")[0].organisation
    ca = keys.issue_test_ca()
    provider = keys.issue_test_certificate(ca, org_name=mc.name, ogrn=str(mc.ogrn), inn=str(mc.inn), algorithm="gost")
    keys.write_pem(keys.issue_test_gateway_certificate(ca), scratch / "gw.key", scratch / "gw.crt")
    gateway = bootstrap.build(Config(database=database), upgrade=True,
                              signer=keys.load_signer(scratch / "gw.key", scratch / "gw.crt"))
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        uow.organisations.add(mc)
        uow.organisations.register_certificate(mc.guid, keys.describe(provider.cert))
        uow.commit()
    env = {**os.environ, "GATEWAY_DATABASE__URL": database.url, "GATEWAY_DATABASE__SCHEMA": database.schema,
           "GATEWAY_SIGNING__KEY_FILE": str(scratch / "gw.key"), "GATEWAY_SIGNING__CERT_FILE": str(scratch / "gw.crt"),
           "GATEWAY_LOGGING__LEVEL": "WARNING", "GATEWAY_WORKER__POLL_INTERVAL": "0.02",
           "PROMETHEUS_MULTIPROC_DIR": str(scratch)}
    return Deployment(gateway, mc.guid, provider, env, scratch)


@dataclass
class Cpu:
    """CPU seconds (user + system) spent between two snapshots — from just before the senders start to just
    after the last message was seen done (the end poll's lag, ≤ 50 ms, is inside) — per process group."""

    serve: float  # gunicorn's master and workers
    worker: float  # `gateway worker` and its processes
    database: float | None  # the PostgreSQL cluster's processes; None on SQLite (inside serve and worker) or
    #                         when the server is not on this machine or its processes cannot be read
    senders: float  # this benchmark's process: the senders' threads and the poll for the end (its queries are
    #                 the database's, a few per 50 ms)

    @property
    def gateway(self) -> float:
        return self.serve + self.worker + (self.database or 0.0)


def _cpu_of(processes: list[psutil.Process]) -> dict[int, float]:
    """Each process's CPU with that of its children that ended and were waited for (a gunicorn worker or a
    backend that exits between the snapshots still counts, in its parent's figure); a live child counts in its
    own, so nothing counts twice."""
    seen: dict[int, float] = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seen[process.pid] = times.user + times.system + times.children_user + times.children_system
    return seen


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def postmaster(engine: Engine) -> int | None:
    """The PID of ``engine``'s PostgreSQL server if it runs on this machine and its processes can be read
    (its data directory's ``postmaster.pid``), else None: then the database's CPU is not metered."""
    try:
        with engine.connect() as connection:
            data = connection.exec_driver_sql("SHOW data_directory").scalar()
        pid = int((Path(str(data)) / "postmaster.pid").read_text().split()[0])
        psutil.Process(pid).cpu_times()
    except (OSError, ValueError, IndexError, psutil.Error, SQLAlchemyError):  # a role that may not read it
        return None
    return pid


class _CpuMeter:
    """Snapshots of the process groups' CPU times; a process that starts in between counts from zero."""

    def __init__(self, server: int, worker: int, postgres: int | None) -> None:
        self.server, self.worker, self.postgres = server, worker, postgres

    def snapshot(self) -> dict[str, dict[int, float]]:
        return {"serve": _cpu_of(_tree(self.server)), "worker": _cpu_of(_tree(self.worker)),
                "database": _cpu_of(_tree(self.postgres)) if self.postgres else {},
                "senders": _cpu_of([psutil.Process()])}

    def since(self, before: dict[str, dict[int, float]]) -> Cpu:
        """What each group spent from the ``before`` snapshot to now."""
        after = self.snapshot()
        spent = {group: sum(max(0.0, t - before[group].get(pid, 0.0)) for pid, t in after[group].items())
                 for group in after}
        return Cpu(serve=spent["serve"], worker=spent["worker"],
                   database=spent["database"] if self.postgres else None, senders=spent["senders"])


@dataclass
class Timing:
    latencies: list[float]  # per request, sorted
    started: float
    acked: float
    finished: float
    cpu: Cpu

    def percentile(self, share: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * share))]


def drive(deployment: Deployment, shares: list[list[bytes]], *, path: str, action: str, operation: str,
          concurrency: int) -> Timing:
    """`gateway serve` (gunicorn, 2 processes) and `gateway worker --concurrency N` as processes; one sender
    thread per share posting its messages in order over HTTP; until every message of ``operation`` is done."""
    port = 18300 + os.getpid() % 500
    serve_log, worker_log = deployment.scratch / "serve.log", deployment.scratch / "worker.log"
    with serve_log.open("ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "gateway.launcher", "serve", "--port", str(port),
                                   "--workers", "2"], env=deployment.env, cwd=ROOT, stdout=out, stderr=out)
    # the worker logs at INFO: its `worker_started` lines say when its processes are ready (a spawned worker
    # process takes seconds to import; a deployment's workers run all along, so that is not in the figures)
    with worker_log.open("ab") as out:
        worker = subprocess.Popen([sys.executable, "-m", "gateway.launcher", "worker", "--concurrency",
                                   str(concurrency)], env={**deployment.env, "GATEWAY_LOGGING__LEVEL": "INFO"},
                                  cwd=ROOT, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    total = sum(len(share) for share in shares)
    failures: list[str] = []
    try:
        _wait(lambda: requests.get(url + "/health", timeout=2).status_code == 200, 60)
        _wait(lambda: worker_log.read_text(errors="replace").count("event=worker_started") >= concurrency, 120)
        # both processes have loaded the application and settled their heaps: a process still starting takes
        # a core's second from the requests, and its start-up is no part of the run's CPU
        _wait(lambda: serve_log.read_text(errors="replace").count("event=serve_process_ready") >= 2, 60)
        latencies: list[float] = []
        lock = threading.Lock()
        engine = deployment.gateway.engine
        meter = _CpuMeter(server.pid, worker.pid,
                          postgres=postmaster(engine) if engine.dialect.name == "postgresql" else None)
        cpu_before = meter.snapshot()

        def send(share: list[bytes]) -> None:
            session = requests.Session()
            for message in share:
                t = time.perf_counter()
                response = session.post(url + path, data=message, timeout=120,
                                        headers={"Content-Type": "text/xml", "SOAPAction": action})
                elapsed = time.perf_counter() - t
                with lock:
                    if response.status_code != 200:  # the sender stops; the run fails below, with the log
                        failures.append(f"HTTP {response.status_code}: {response.text[:300]}")
                        return
                    latencies.append(elapsed)

        started, started_wall = time.perf_counter(), time.time()
        threads = [threading.Thread(target=send, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        acked = time.perf_counter()
        if failures:
            errors = [line for line in serve_log.read_text(errors="replace").splitlines()
                      if "error" in line.lower() or "Error" in line][-15:]
            raise AssertionError(f"{len(failures)} sender(s) refused, first: {failures[0]}\n"
                                 f"{serve_log} (last error lines):\n" + "\n".join(errors))
        _wait(lambda: _done(deployment.gateway.engine, operation) == total, 900)
        # the end is when the last message was processed — its processed_at, stamped by the worker just before
        # its commit — not when a 50 ms poll noticed it (that lag was ≈ 3 % of a 0.8 s run)
        finished = started + (_last_processed(deployment.gateway.engine, operation) - started_wall)
        cpu = meter.since(cpu_before)
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(30)
    with deployment.gateway.engine.connect() as connection:  # a refusal is fast: a benchmark of refusals is void
        refused = answered_with_errors(connection, operation)
    assert refused == 0, f"{refused} {operation} message(s) answered with errors"
    return Timing(sorted(latencies), started, acked, finished, cpu)


def run(label: str, database: DatabaseConfig, scratch: Path, *, senders: int = 8, messages_count: int = 40,
        concurrency: int = 1) -> None:
    deployment = deploy(database, scratch)
    flats = _houses(deployment.gateway, deployment.org, messages_count, 100)
    bodies = [envelope(_signed(accounts_body(f), deployment.provider), str(deployment.org)) for f in flats]
    from benchmarks import baseline

    def one_core() -> tuple[float, float]:
        return (statistics.median(floor(deployment.gateway.engine, bodies[n % 9], deployment.org) for n in range(9)),
                baseline_seconds(deployment.gateway.engine, bodies[:3], baseline.accounts))

    before = one_core()
    timing = drive(deployment, [bodies[i::senders] for i in range(senders)], path=PATH,
                   action="urn:importAccountData", operation="importAccountData", concurrency=concurrency)
    floor_s, baseline_s = conservative(before, one_core())
    report(label, f"importAccountData 100/msg, {senders} senders, {messages_count} msgs", concurrency,
           timing, messages_count * 100, 100 / floor_s, floor_s, baseline_s, senders=senders)
    deployment.gateway.engine.dispose()


def conservative(before: tuple[float, float], after: tuple[float, float]) -> tuple[float, float]:
    """The floor and the baseline, each the faster of its medians measured before and after the run (the same
    registry the gateway worked on), so a floor slowed by the machine at one moment flatters no ratio; both
    pairs printed."""
    print(f"          one core, before / after the run: floor {before[0] * 1000:.1f} / {after[0] * 1000:.1f} ms, "
          f"baseline {before[1] * 1000:.1f} / {after[1] * 1000:.1f} ms a message (the lower of each is used)")
    return min(before[0], after[0]), min(before[1], after[1])


def report(label: str, what: str, concurrency: int, timing: Timing, objects: int, floor_rate: float,
           floor_s: float, baseline_s: float, *, senders: int) -> None:
    """One line per operation: ack latency, the end-to-end rate and its ratios to the floor and to the
    straightforward pipeline (benchmarks.baseline), both measured on one core in the same run; then where the
    machine's CPU went, per message, and what that allows on this machine's cores (the measured bounds)."""
    rate = objects / (timing.finished - timing.started)
    per_message = floor_rate * floor_s
    baseline_rate = per_message / baseline_s
    print(f"{label:<9} {what}, worker procs {concurrency} | "
          f"ack p50 {timing.percentile(0.5) * 1000:6.0f} ms p99 {timing.percentile(0.99) * 1000:6.0f} ms | "
          f"{rate:6.0f} obj/s end-to-end = {rate / floor_rate:4.2f} of the floor ({floor_rate:5.0f} obj/s, one core: "
          f"{floor_s * 1000:.0f} ms/msg), {rate / baseline_rate:4.2f}x the baseline ({baseline_rate:5.0f} obj/s, "
          f"one core: {baseline_s * 1000:.0f} ms/msg) [acks in {timing.acked - timing.started:.1f} s, "
          f"all done in {timing.finished - timing.started:.1f} s]")
    print(cpu_line(timing, round(objects / per_message), floor_s=floor_s, baseline_s=baseline_s, senders=senders))


def cpu_line(timing: Timing, messages_count: int, *, floor_s: float, baseline_s: float, senders: int,
              cores: int | None = None) -> str:
    """The CPU a message took in each process group, and the bounds it sets on this machine's cores: the
    end-to-end rate cannot pass cores / CPU-per-message, so no ratio to the one-core floor or baseline can pass
    cores × their time / CPU-per-message; and with ``senders`` requests in flight and ``serve`` CPU-ms each, the
    mean ack cannot be below senders × serve / cores (Little's law, the whole machine given to the acks)."""
    cores = cores or len(os.sched_getaffinity(0))
    cpu, ms = timing.cpu, 1000 / messages_count
    database = f" + database {cpu.database * ms:.1f}" if cpu.database is not None else \
        " (database in-process or not metered)"
    gateway = cpu.gateway * ms
    wall = (timing.finished - timing.started) * 1000 / messages_count
    busy = (cpu.gateway + cpu.senders) / ((timing.finished - timing.started) * cores)
    serve = cpu.serve * ms
    return (f"          CPU a message: serve {serve:.1f} ms + worker {cpu.worker * ms:.1f}{database} = "
            f"{gateway:.1f} ms (senders {cpu.senders * ms:.1f} ms; {wall:.1f} ms of wall a message, "
            f"the {cores} cores {busy:.0%} busy)"
            f" | bounds on {cores} cores: ≤ {cores * floor_s * 1000 / gateway:.2f} of the floor, "
            f"≤ {cores * baseline_s * 1000 / gateway:.2f}x the baseline, mean ack ≥ {senders} × {serve:.1f} / {cores} "
            f"= {senders * serve / cores:.0f} ms")


def baseline_seconds(engine: Engine, messages: list[bytes], take: Callable[[Engine, bytes], float]) -> float:
    """Median seconds per message of the straightforward pipeline over RSA twins of ``messages``."""
    from benchmarks import baseline

    baseline.prepare(engine)
    twins = [baseline.rsa_twin(m) for m in messages]
    return statistics.median(take(engine, twins[n % len(twins)]) for n in range(5))


def _signed(body: etree._Element, issued: keys.Issued) -> etree._Element:
    sign(body, key=issued.key, cert=issued.cert)
    return body


def _done(engine: Engine, operation: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(messages).where(
            messages.c.state == "done", messages.c.operation == operation)).scalar() or 0)


def _last_processed(engine: Engine, operation: str) -> float:
    """The wall-clock time (seconds since the epoch) the last message of ``operation`` was processed."""
    with engine.connect() as connection:
        last = connection.execute(select(func.max(messages.c.processed_at)).where(
            messages.c.operation == operation)).scalar()
    assert last is not None
    return float((last if last.tzinfo else last.replace(tzinfo=UTC)).timestamp())


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(0.05)
