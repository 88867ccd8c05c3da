"""The message queue: claims under a lease, retry and dead-letter, exactly-once completion."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.bootstrap import Gateway
from gateway.config import WorkerConfig
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid
from gateway.errors import Code, RequestRefused
from gateway.messages import queue
from gateway.messages.queue import LeaseLost, MessageState
from gateway.messages.worker import Worker
from gateway.processing.dispatch import MessageProcessor
from gateway.registry.tables import houses
from gateway.registry.unit_of_work import UnitOfWork
from gateway.xmlparse import parse_untrusted

MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
HOUSE = (Path(__file__).resolve().parents[2] / "fixtures" / "houses" / "sever-1.xml").read_bytes()
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _accept(engine: Engine, payload: bytes = HOUSE, requester: Guid | None = None) -> Guid:
    with UnitOfWork(engine) as uow:
        guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=requester or Guid.new(),
                               service="HouseManagementServiceAsync", operation="importHouseUOData",
                               request=b"<envelope/>", payload=payload, now=T0)
        uow.commit()
    return guid


def _state(engine: Engine, guid: Guid) -> queue.StoredMessage:
    with engine.connect() as connection:
        message = queue.find(connection, guid)
    assert message is not None
    return message


def _house_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(houses)).scalar() or 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_same_message_guid_with_other_content_is_refused(engine: Engine) -> None:
    requester = Guid.new()
    _accept(engine, requester=requester)
    with pytest.raises(RequestRefused) as refused:
        _accept(engine, payload=HOUSE.replace(b"5400.5", b"5400.6"), requester=requester)
    assert refused.value.code is Code.MESSAGE_REUSED


def test_a_claimed_message_whose_lease_expired_is_claimed_again(engine: Engine) -> None:
    guid = _accept(engine)
    first = queue.claim(engine, now=T0, lease_seconds=60)
    assert first is not None and first.guid == guid
    assert queue.claim(engine, now=T0 + timedelta(seconds=30), lease_seconds=60) is None  # lease holds
    second = queue.claim(engine, now=T0 + timedelta(seconds=61), lease_seconds=60)
    assert second is not None and second.guid == guid and second.attempts == 2
    assert second.claim_token != first.claim_token


def _objects_counted() -> float:
    from prometheus_client import REGISTRY

    return sum(REGISTRY.get_sample_value("gateway_objects_processed_total",
                                         {"operation": "importHouseUOData", "result": result}) or 0.0
               for result in ("ok", "error"))


def test_a_worker_that_lost_its_lease_cannot_complete_and_its_writes_roll_back(gateway: Gateway) -> None:
    engine = gateway.engine
    _accept(engine)
    stale = queue.claim(engine, now=T0, lease_seconds=1)
    assert stale is not None
    current = queue.claim(engine, now=T0 + timedelta(seconds=5), lease_seconds=60)  # taken over
    assert current is not None
    counted = _objects_counted()
    with pytest.raises(LeaseLost):
        with gateway.unit_of_work(Provenance.of_message(stale.guid, stale.org_guid)) as uow:
            result = MessageProcessor(gateway.signer)(uow, stale, T0)
            queue.complete(uow.connection, stale, result, now=T0)
            uow.commit()
    assert _house_count(engine) == 0
    assert _objects_counted() == counted  # nothing written, nothing counted
    with gateway.unit_of_work(Provenance.of_message(current.guid, current.org_guid)) as uow:  # the lease holder
        result = MessageProcessor(gateway.signer)(uow, current, T0)
        queue.complete(uow.connection, current, result, now=T0)
        uow.commit()
    assert _house_count(engine) == 1
    assert _objects_counted() > counted


def test_failures_are_retried_with_backoff_then_dead_lettered(engine: Engine) -> None:
    guid = _accept(engine)
    clock = Clock()

    def broken(*_: object) -> bytes:
        raise ConnectionError("database went away")

    worker = Worker(engine, broken, WorkerConfig(max_attempts=3, lease_seconds=60),
                    unit_of_work=lambda p: UnitOfWork(engine, p), clock=clock)
    assert worker.run_once()
    assert _state(engine, guid).state is MessageState.PROCESSING
    assert not worker.run_once()  # backing off: not claimable yet
    for _ in range(2):
        clock.now += timedelta(minutes=10)
        assert worker.run_once()
    dead = _state(engine, guid)
    assert dead.state is MessageState.DEAD and dead.attempts == 3
    assert "database went away" in (dead.last_error or "")


def test_processing_and_result_are_one_transaction(gateway: Gateway) -> None:
    engine = gateway.engine
    guid = _accept(engine)
    worker = gateway.worker
    assert worker.drain() == 1
    message = _state(engine, guid)
    assert message.state is MessageState.DONE and message.result is not None
    assert parse_untrusted(message.result).findtext("{http://dom.gosuslugi.ru/schema/integration/base/}"
                                                    "RequestState") == "3"
    assert _house_count(engine) == 1
    assert worker.drain() == 0  # nothing is processed twice


def test_concurrent_workers_each_claim_different_messages(gateway: Gateway, database_kind: str) -> None:
    if database_kind != "postgres":
        pytest.skip("FOR UPDATE SKIP LOCKED is the PostgreSQL path; SQLite runs one worker")
    guids = {_accept(gateway.engine) for _ in range(12)}
    claimed: list[Guid] = []
    lock = threading.Lock()

    def claim_all() -> None:
        while (message := queue.claim(gateway.engine, now=T0, lease_seconds=60)) is not None:
            with lock:
                claimed.append(message.guid)

    threads = [threading.Thread(target=claim_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, claimed)) == sorted(map(str, guids))  # each exactly once


def test_support_can_inspect_and_requeue_a_dead_message(gateway: Gateway, config) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from gateway.cli import main

    guid = _accept(gateway.engine)

    def broken(*_: object) -> bytes:
        raise RuntimeError("registry constraint changed")

    Worker(gateway.engine, broken, WorkerConfig(max_attempts=1), unit_of_work=gateway.unit_of_work).run_once()
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    shown = CliRunner().invoke(main, ["messages", "show", str(guid)], env=env)
    assert shown.exit_code == 0 and "dead" in shown.output and "registry constraint changed" in shown.output
    retried = CliRunner().invoke(main, ["messages", "retry", "--all-dead"], env=env)
    assert retried.exit_code == 0 and "re-queued 1 message(s)" in retried.output
    assert _state(gateway.engine, guid).state is MessageState.RECEIVED
    assert gateway.worker.drain() == 1 and _state(gateway.engine, guid).state is MessageState.DONE
    again = CliRunner().invoke(main, ["messages", "retry", str(guid)], env=env)
    assert again.exit_code != 0 and "not dead or unknown" in again.output


def test_a_stored_envelope_that_no_longer_gives_its_signed_bytes_is_dead_lettered_at_once(gateway: Gateway) -> None:
    """StoredMessageAltered is deterministic: the message goes dead on its first attempt (not after
    worker.max_attempts of them), with the reason kept for support, and nothing is written."""
    import hashlib

    from sqlalchemy import update

    from gateway.registry.tables import messages

    engine = gateway.engine
    request = b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>" + \
        HOUSE.split(b"?>", 1)[-1] + b"</soapenv:Body></soapenv:Envelope>"
    with UnitOfWork(engine) as uow:
        guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=Guid.new(),
                               service="HouseManagementServiceAsync", operation="importHouseUOData",
                               request=request, payload=b"", now=T0, payload_in_request=True,
                               payload_sha256=hashlib.sha256(b"what the door verified").hexdigest())
        uow.commit()
    assert gateway.worker.config.max_attempts > 1
    assert gateway.worker.run_once()
    dead = _state(engine, guid)
    assert dead.state is MessageState.DEAD and dead.attempts == 1
    assert "SHA-256 differs" in (dead.last_error or "")
    assert _house_count(engine) == 0
    with engine.begin() as connection:  # a re-queue (support) meets the same bytes and the same verdict
        connection.execute(update(messages).where(messages.c.guid == str(guid)).values(state="received"))
    assert gateway.worker.run_once() and _state(engine, guid).state is MessageState.DEAD


def test_the_stored_bytes_come_back_byte_exact_whatever_they_hold(engine: Engine) -> None:
    """The envelope, payload and result are read back as stored — on PostgreSQL in the binary result format,
    beside the statement that reads the rest (``queue._read``), whether claimed, found or resent."""
    request = bytes(range(256)) * 2048 + b"\x00"  # 0.5 MB: every byte value, a trailing NUL
    payload, result = bytes(reversed(request)), b"\xff\x00" * 70_000
    requester = Guid.new()
    with UnitOfWork(engine) as uow:
        guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=requester,
                               service="HouseManagementServiceAsync", operation="importHouseUOData",
                               request=request, payload=payload, now=T0)
        uow.commit()
    claimed = queue.claim(engine, now=T0, lease_seconds=60)
    assert claimed is not None and claimed.guid == guid
    assert type(claimed.request) is bytes and claimed.request == request and claimed.payload == payload
    assert claimed.result is None
    with UnitOfWork(engine) as uow:
        queue.complete(uow.connection, claimed, result, now=T0)
        uow.commit()
    found = _state(engine, guid)
    assert type(found.result) is bytes and found.result == result and found.payload == payload
    assert found.request is None  # only a claim carries the envelope
    assert found.state is MessageState.DONE and found.org_guid == MC
    with engine.connect() as connection:
        resent = queue._by_requester(connection, MC, requester)
        assert queue.find(connection, Guid.new()) is None
    assert resent is not None and resent.guid == guid and resent.result == result
