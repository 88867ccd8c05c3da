"""Fault tests on real PostgreSQL: a worker killed mid-batch, the database restarted mid-processing, and
four workers on one queue. Afterwards every object is in the registry exactly once, every message has a
final state and the archive is intact.

No sleeps as synchronisation: each test waits for a condition it can observe (a backend blocked on a
lock the test holds, a message state), with a bounded timeout. The recovery properties (issue 19) run
with a short lease: a killed worker's message is taken over by another worker within one lease, and a
message in flight during a database restart is processed once the database is back, without waiting
for its lease.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from gateway.bootstrap import Gateway
from gateway.domain.values import Guid
from gateway.messages import archive, queue
from gateway.registry.tables import HISTORY, houses, messages, premises
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing import keys
from gateway.xmlparse import parse_untrusted
from tests.conftest import management_contract

ROOT = Path(__file__).resolve().parents[2]
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")


#: houses the management company's extra contract covers: each test's houses take their FIAS GUIDs from it
POOL = [str(uuid.uuid4()) for _ in range(30)]
_unused: list[str] = []


@dataclass(frozen=True)
class Baseline:
    """What the registry held before the test's own messages (the fixture's contracts and charter)."""

    messages: int
    versions: int
    archive: int


@pytest.fixture
def pg(gateway: Gateway, database_kind: str) -> Gateway:
    if database_kind != "postgres":
        pytest.skip("fault tests run against PostgreSQL: many workers, SKIP LOCKED, server restarts")
    body = bytes(etree.tostring(management_contract(POOL, number="fault-tests")))
    with UnitOfWork(gateway.engine) as uow:
        queue.accept(uow.connection, org=MC, requester_message_guid=Guid.new(), service="HouseManagementServiceAsync",
                     operation="importContractData", request=body, payload=body, now=datetime.now(UTC))
        uow.commit()
    assert gateway.worker.drain() == 1
    _unused[:] = POOL
    return gateway


@pytest.fixture
def baseline(pg: Gateway) -> Baseline:
    with pg.engine.connect() as connection:
        return Baseline(queue.depth(connection).get("done", 0), _versions(connection),
                        archive.verify(connection).entries)


def _versions(connection: Connection) -> int:
    """Versions of houses and premises the registry holds (each written once per object, exactly once)."""
    return sum(int(connection.execute(select(func.count()).select_from(HISTORY[name])).scalar() or 0)
               for name in ("houses", "premises"))


def house(flats: int) -> bytes:
    """An importHouseUORequest for a new house (a FIAS GUID of the pool) with ``flats`` residential premises."""
    root = parse_untrusted((ROOT / "fixtures" / "houses" / "sever-1.xml").read_bytes())
    root.find(f".//{{{HM}}}FIASHouseGuid").text = _unused.pop()
    apartment = root.find(f"{{{HM}}}ApartmentHouse")
    template = apartment.find(f"{{{HM}}}ResidentialPremises")
    for old in apartment.findall(f"{{{HM}}}ResidentialPremises") + apartment.findall(
            f"{{{HM}}}NonResidentialPremiseToCreate"):
        apartment.remove(old)
    for number in range(1, flats + 1):
        flat = copy.deepcopy(template)
        flat[0].find(f"{{{HM}}}PremisesNum").text = str(number)
        flat[0].find(f"{{{HM}}}CadastralNumber").text = f"77:02:0018004:{20000 + number}"
        apartment.append(flat)
    for transport in root.iter(f"{{{BASE}}}TransportGUID"):
        transport.text = str(uuid.uuid4())
    return bytes(etree.tostring(root))


def accept(engine: Engine, count: int, flats: int) -> list[Guid]:
    guids = []
    with UnitOfWork(engine) as uow:
        for _ in range(count):
            body = house(flats)
            guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=Guid.new(),
                                   service="HouseManagementServiceAsync", operation="importHouseUOData",
                                   request=body, payload=body, now=datetime.now(UTC))
            guids.append(guid)
        uow.commit()
    return guids


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until true; a database that is not reachable yet counts as 'not yet'."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)  # polling interval of the wait, not a synchronisation guess


def scalar(engine: Engine, query) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def states(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return queue.depth(connection)


def assert_exactly_once(engine: Engine, messages_count: int, flats: int, before: Baseline) -> None:
    assert states(engine) == {"done": before.messages + messages_count}
    assert scalar(engine, select(func.count()).select_from(houses)) == messages_count
    assert scalar(engine, select(func.count()).select_from(premises)) == messages_count * flats
    with engine.connect() as connection:
        assert _versions(connection) == before.versions + messages_count * (flats + 1)
        report = archive.verify(connection)
    assert report.intact and report.entries == before.archive + 2 * messages_count


@contextmanager
def blocked_versions(engine: Engine) -> Iterator[Connection]:
    """Hold a lock that stops any worker right after it wrote a house, inside its transaction."""
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("LOCK TABLE houses_history IN ACCESS EXCLUSIVE MODE"))
    try:
        yield connection
    finally:
        try:
            transaction.rollback()
            connection.close()
        except OperationalError:
            connection.invalidate()  # the server was restarted under it: nothing left to release


def blocked_backends(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'houses_history'::regclass")).scalars())


@pytest.fixture
def worker_command(pg: Gateway, pki, tmp_path: Path) -> Callable[..., subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    keys.write_pem(pki.gateway, tmp_path / "gateway.key.pem", tmp_path / "gateway.cert.pem")
    env = {**os.environ,
           "GATEWAY_DATABASE__URL": pg.config.database.url, "GATEWAY_DATABASE__SCHEMA": pg.config.database.schema,
           "GATEWAY_SIGNING__KEY_FILE": str(tmp_path / "gateway.key.pem"),
           "GATEWAY_SIGNING__CERT_FILE": str(tmp_path / "gateway.cert.pem"),
           "GATEWAY_WORKER__POLL_INTERVAL": "0.05", "GATEWAY_LOGGING__LEVEL": "WARNING"}
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, lease: int = 300, name: str = "fault-worker") -> subprocess.Popen[bytes]:
        # PGAPPNAME names the worker's database sessions, so the test can tell whose backend waits where
        process = subprocess.Popen([sys.executable, "-m", "gateway.launcher", "worker", *args],
                                   env={**env, "GATEWAY_WORKER__LEASE_SECONDS": str(lease), "PGAPPNAME": name},
                                   cwd=ROOT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def waiting_on_a_lock(engine: Engine) -> dict[str, int]:
    """Worker sessions (by application name) whose backend waits for a lock, and their backend's pid."""
    with engine.connect() as connection:
        return dict(connection.execute(text(  # type: ignore[arg-type]
            "SELECT application_name, pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND application_name LIKE 'fault-worker-%'")).all())


def test_a_worker_killed_mid_batch_leaves_nothing_half_written(
        pg: Gateway, baseline: Baseline, worker_command) -> None:  # type: ignore[no-untyped-def]
    accept(pg.engine, 3, flats=1000)
    with blocked_versions(pg.engine):
        worker = worker_command()
        wait_for(lambda: len(blocked_backends(pg.engine)) == 1, "the worker to block inside its transaction")
        backend = blocked_backends(pg.engine)[0]
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    # the server rolls the dead client's transaction back when it finds the client gone
    gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid").bindparams(pid=backend)
    wait_for(lambda: scalar(pg.engine, gone) == 0, "the killed worker's backend to end")
    assert scalar(pg.engine, select(func.count()).select_from(houses)) == 0
    with pg.engine.begin() as connection:  # the lease runs out (instead of waiting lease_seconds)
        connection.execute(update(messages).where(messages.c.state == "processing")
                           .values(lease_until=func.now() - text("interval '1 second'")))
    assert pg.worker.drain() == 3
    assert_exactly_once(pg.engine, 3, 1000, baseline)


LEASE = 4  # seconds: short, so that the test shows recovery within one lease; renewed every 4/3 s


def test_a_killed_workers_message_is_processed_by_another_within_one_lease(
        pg: Gateway, baseline: Baseline, worker_command) -> None:  # type: ignore[no-untyped-def]
    accept(pg.engine, 1, flats=300)
    workers = {name: worker_command(lease=LEASE, name=name) for name in ("fault-worker-a", "fault-worker-b")}
    with blocked_versions(pg.engine):
        wait_for(lambda: len(waiting_on_a_lock(pg.engine)) == 1, "one worker to block inside its transaction")
        [(victim, _)] = waiting_on_a_lock(pg.engine).items()
        workers[victim].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        workers[victim].wait(30)
        # the dead worker's session still waits (the server finds its client gone only when it answers);
        # the survivor claims the message once the unrenewed lease runs out, and waits behind it
        survivor = next(name for name in workers if name != victim)
        wait_for(lambda: survivor in waiting_on_a_lock(pg.engine), "the survivor to take the message over",
                 timeout=LEASE + 30)
        taken_over_after = time.monotonic() - killed_at
    wait_for(lambda: states(pg.engine).get("done", 0) == baseline.messages + 1, "the message to be done")
    assert taken_over_after < LEASE + 3, f"taken over {taken_over_after:.1f} s after the kill (lease {LEASE} s)"
    assert_exactly_once(pg.engine, 1, 300, baseline)
    with pg.engine.connect() as connection:
        assert connection.execute(select(func.max(messages.c.attempts))).scalar() == 2  # the victim's, then ours


@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None or os.geteuid() != 0,
                    reason="restarting the local PostgreSQL needs pg_ctlcluster and root")
def test_a_database_restart_during_processing_loses_and_duplicates_nothing(
        pg: Gateway, baseline: Baseline, worker_command) -> None:  # type: ignore[no-untyped-def]
    """The message in flight is processed as soon as the database is back: its claim is given back, not left
    to a lease that would run for another ten minutes."""
    accept(pg.engine, 4, flats=300)
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    with blocked_versions(pg.engine):
        worker_command(lease=600)
        wait_for(lambda: len(blocked_backends(pg.engine)) == 1, "the worker to block inside its transaction")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                       check=True, capture_output=True, timeout=120)
    back_at = time.monotonic()
    wait_for(lambda: states(pg.engine).get("done", 0) == baseline.messages + 4,
             "every message to be processed after the restart", timeout=120)
    recovered_after = time.monotonic() - back_at
    assert recovered_after < 60, f"done {recovered_after:.1f} s after the restart: left to the 600 s lease?"
    assert_exactly_once(pg.engine, 4, 300, baseline)
    with pg.engine.connect() as connection:  # the interrupted attempt was given back, not counted
        assert connection.execute(select(func.max(messages.c.attempts))).scalar() == 1


def test_four_workers_on_one_queue_process_every_message_exactly_once(
        pg: Gateway, baseline: Baseline, worker_command) -> None:  # type: ignore[no-untyped-def]
    accept(pg.engine, 24, flats=50)
    worker_command("--concurrency", "4")
    wait_for(lambda: states(pg.engine).get("done", 0) == baseline.messages + 24, "all 24 messages to be processed",
             timeout=120)
    assert_exactly_once(pg.engine, 24, 50, baseline)
    with pg.engine.connect() as connection:
        attempts = connection.execute(select(func.max(messages.c.attempts))).scalar()
    assert attempts == 1  # no message was processed twice
