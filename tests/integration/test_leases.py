"""Leases that live as long as their worker, claims given back when the database goes away, and a queue
that tells waiting, in-flight and retrying messages apart (issue 19)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from gateway.bootstrap import Gateway
from gateway.config import WorkerConfig
from gateway.domain.values import Guid
from gateway.messages import queue
from gateway.messages.exposition import page as exposition
from gateway.messages.lease import Heartbeat
from gateway.messages.queue import MessageState, Stage, StoredMessage
from gateway.messages.worker import Worker
from gateway.processing.dispatch import MessageProcessor
from gateway.registry.tables import messages
from gateway.registry.unit_of_work import UnitOfWork

MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
HOUSE = (Path(__file__).resolve().parents[2] / "fixtures" / "houses" / "sever-1.xml").read_bytes()
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _accept(engine: Engine, *, at: datetime = T0) -> Guid:
    with UnitOfWork(engine) as uow:
        guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=Guid.new(),
                               service="HouseManagementServiceAsync", operation="importHouseUOData",
                               request=b"<envelope/>", payload=HOUSE, now=at)
        uow.commit()
    return guid


def _find(engine: Engine, guid: Guid) -> StoredMessage:
    with engine.connect() as connection:
        message = queue.find(connection, guid)
    assert message is not None
    return message


def _lease_until(engine: Engine, guid: Guid) -> datetime:
    with engine.connect() as connection:
        value = connection.execute(select(messages.c.lease_until).where(messages.c.guid == str(guid))).scalar()
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _postgres_only(database_kind: str) -> None:
    if database_kind != "postgres":
        pytest.skip("leases are renewed where workers share the queue: PostgreSQL (SQLite has one worker)")


def test_backlog_tells_waiting_in_flight_and_retrying_apart(engine: Engine) -> None:
    _accept(engine, at=T0 + timedelta(seconds=2))  # waiting
    retrying = _accept(engine, at=T0 + timedelta(seconds=1))
    in_flight = _accept(engine, at=T0)
    claimed = queue.claim(engine, now=T0 + timedelta(seconds=10), lease_seconds=30)  # the oldest: in_flight
    failed = queue.claim(engine, now=T0 + timedelta(seconds=10), lease_seconds=30)
    assert claimed is not None and claimed.guid == in_flight and failed is not None and failed.guid == retrying
    queue.record_failure(engine, failed, "boom", now=T0 + timedelta(seconds=11), max_attempts=3, retry_in=60)

    with engine.connect() as connection:
        now = T0 + timedelta(seconds=20)
        backlog = queue.backlog(connection, now=now)
        assert {stage: found.count for stage, found in backlog.items()} == {
            Stage.WAITING: 1, Stage.IN_FLIGHT: 1, Stage.RETRYING: 1}
        assert _aware(backlog[Stage.WAITING].oldest_received_at) == T0 + timedelta(seconds=2)
        assert _aware(backlog[Stage.IN_FLIGHT].oldest_received_at) == T0
        # the lag counts only what waits to be claimed: not the older message a worker is on
        assert _aware(queue.oldest_waiting(connection, now=now)) == T0 + timedelta(seconds=2)

        later = queue.backlog(connection, now=T0 + timedelta(seconds=80))  # lease and back-off both ran out
        assert later[Stage.WAITING].count == 3 and later[Stage.IN_FLIGHT].count == later[Stage.RETRYING].count == 0


def _aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_queue_metrics_give_each_stage_and_its_oldest_age(gateway: Gateway) -> None:
    _accept(gateway.engine, at=datetime.now(UTC) - timedelta(seconds=100))
    assert queue.claim(gateway.engine, now=datetime.now(UTC), lease_seconds=30) is not None
    page = exposition(gateway.engine).decode()
    assert 'gateway_queue_messages{stage="in_flight"} 1.0' in page
    assert 'gateway_queue_messages{stage="waiting"} 0.0' in page
    assert 'gateway_queue_oldest_age_seconds{stage="waiting"} 0.0' in page
    assert "gateway_queue_lag_seconds 0.0" in page  # leased, not waiting
    age = next(line for line in page.splitlines()
               if line.startswith('gateway_queue_oldest_age_seconds{stage="in_flight"}'))
    assert float(age.split()[-1]) >= 100


def test_a_failure_never_overwrites_a_commit_that_went_through(engine: Engine) -> None:
    """The database went away as the worker committed: the commit may have happened; the failure path
    must then leave the done message alone."""
    guid = _accept(engine)
    message = queue.claim(engine, now=T0, lease_seconds=30)
    assert message is not None
    with UnitOfWork(engine) as uow:
        queue.complete(uow.connection, message, b"<result/>", now=T0)
        uow.commit()
    queue.record_failure(engine, message, "lost answer", now=T0, max_attempts=3, retry_in=1)
    assert not queue.release(engine, message, "lost answer", now=T0)
    assert not queue.renew(engine, message, now=T0, lease_seconds=30)
    done = _find(engine, guid)
    assert done.state is MessageState.DONE and done.result == b"<result/>" and done.last_error is None


def test_a_long_message_keeps_its_lease_while_its_worker_lives(gateway: Gateway, database_kind: str) -> None:
    _postgres_only(database_kind)
    guid = _accept(gateway.engine, at=datetime.now(UTC))
    config = WorkerConfig(lease_seconds=2, heartbeat_seconds=0.3)
    competitors: list[StoredMessage | None] = []

    def long_handler(uow: UnitOfWork, message: StoredMessage, started: datetime) -> bytes:
        first_lease = _lease_until(gateway.engine, guid)
        while datetime.now(UTC) < first_lease + timedelta(seconds=1.5):  # the work outlives its first lease
            competitors.append(queue.claim(gateway.engine, now=datetime.now(UTC), lease_seconds=2))
            time.sleep(0.1)  # pacing of the competing claims, not synchronisation
        assert _lease_until(gateway.engine, guid) > first_lease  # renewed by the heartbeat
        return MessageProcessor(gateway.signer)(uow, message, started)

    worker = Worker(gateway.engine, long_handler, config, unit_of_work=gateway.unit_of_work)
    assert worker.run_once()
    assert competitors and all(claimed is None for claimed in competitors)  # nobody took it over
    done = _find(gateway.engine, guid)
    assert done.state is MessageState.DONE and done.attempts == 1


def test_a_connection_lost_during_processing_gives_the_claim_back_at_once(
        gateway: Gateway, database_kind: str, caplog: pytest.LogCaptureFixture) -> None:
    _postgres_only(database_kind)
    guid = _accept(gateway.engine, at=datetime.now(UTC))

    def server_goes_away(uow: UnitOfWork, message: StoredMessage, started: datetime) -> bytes:
        backend = uow.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with gateway.engine.connect() as admin:  # as a restart would: the server ends the session
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        uow.connection.execute(text("SELECT 1"))
        raise AssertionError("the terminated session answered")

    config = WorkerConfig(lease_seconds=300, max_attempts=1)  # a counted attempt would dead-letter it
    worker = Worker(gateway.engine, server_goes_away, config, unit_of_work=gateway.unit_of_work)
    with caplog.at_level("INFO", logger="gateway.worker"):
        assert worker.run_once()
    released = _find(gateway.engine, guid)
    assert released.state is MessageState.PROCESSING and released.attempts == 0 and released.claim_token is None
    assert "released after a database error" in (released.last_error or "")
    events = [r.getMessage().split()[0] for r in caplog.records]
    assert events == ["event=database_lost_during_processing", "event=claim_released"]
    with gateway.engine.connect() as connection:  # claimable now, not after the 300 s lease
        assert queue.backlog(connection, now=datetime.now(UTC))[Stage.WAITING].count == 1

    assert Worker(gateway.engine, MessageProcessor(gateway.signer), config,
                  unit_of_work=gateway.unit_of_work).run_once()
    done = _find(gateway.engine, guid)
    assert done.state is MessageState.DONE and done.attempts == 1


def test_the_heartbeat_notices_a_lease_taken_over(gateway: Gateway, database_kind: str) -> None:
    _postgres_only(database_kind)
    _accept(gateway.engine, at=datetime.now(UTC))
    mine = queue.claim(gateway.engine, now=datetime.now(UTC), lease_seconds=30)
    assert mine is not None
    with Heartbeat(gateway.engine, mine, lease_seconds=30, every=0.05, clock=lambda: datetime.now(UTC)) as beat:
        theirs = queue.claim(gateway.engine, now=datetime.now(UTC) + timedelta(seconds=31), lease_seconds=30)
        assert theirs is not None and theirs.claim_token != mine.claim_token
        assert beat.lost.wait(30)  # the next renewal finds the claim someone else's
    with pytest.raises(queue.LeaseLost), UnitOfWork(gateway.engine) as uow:
        queue.complete(uow.connection, mine, b"<result/>", now=datetime.now(UTC))
    assert _find(gateway.engine, mine.guid).claim_token == theirs.claim_token
