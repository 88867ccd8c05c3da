"""The worker loop: claim a message, process it in one transaction with its result, or record the failure."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from gateway import metrics
from gateway.config import WorkerConfig
from gateway.domain.provenance import Provenance
from gateway.messages import queue
from gateway.messages.queue import StoredMessage
from gateway.registry.unit_of_work import UnitOfWork

log = logging.getLogger("gateway.worker")

#: Processes one message's payload inside the unit of work and returns the getStateResult element (bytes).
Handler = Callable[[UnitOfWork, StoredMessage, datetime], bytes]


def _utcnow() -> datetime:
    return datetime.now(UTC)



#: Makes the unit of work a message is processed in (the composition root's ``Gateway.unit_of_work``).
UnitOfWorkFactory = Callable[[Provenance | None], UnitOfWork]


class Worker:
    def __init__(self, engine: Engine, handler: Handler, config: WorkerConfig, *,
                 unit_of_work: UnitOfWorkFactory, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.handler = handler
        self.config = config
        self.unit_of_work = unit_of_work
        self.clock = clock

    def run_once(self) -> bool:
        """Process at most one message. Returns False when the queue had nothing to do."""
        message = queue.claim(self.engine, now=self.clock(), lease_seconds=self.config.lease_seconds)
        if message is None:
            return False
        started = self.clock()
        try:
            provenance = Provenance.of_message(message.guid, message.org_guid, signed_by=message.signed_by,
                                               power=message.power_guid)
            with self.unit_of_work(provenance) as uow:
                result = self.handler(uow, message, started)
                queue.complete(uow.connection, message, result, now=self.clock())
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried, none swallowed
            retry_in = min(2.0 ** message.attempts, 300.0)
            state = queue.record_failure(
                self.engine, message, f"{type(exc).__name__}: {exc}", now=self.clock(),
                max_attempts=self.config.max_attempts, retry_in=retry_in)
            log.exception("event=process_failed message_guid=%s org=%s operation=%s attempt=%d next_state=%s",
                          message.guid, message.org_guid, message.operation, message.attempts, state)
            metrics.PROCESSING_FAILURES.labels(message.operation, state.value).inc()
            return True
        finished = self.clock()
        elapsed_ms = (finished - started).total_seconds() * 1000
        metrics.ACK_TO_DONE.labels(message.operation).observe(
            max((finished - message.received_at).total_seconds(), 0.0))
        log.info("event=processed message_guid=%s org=%s operation=%s attempt=%d ms=%.1f",
                 message.guid, message.org_guid, message.operation, message.attempts, elapsed_ms)
        return True

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, polling the queue when it is empty."""
        log.info("event=worker_started poll_interval=%s", self.config.poll_interval)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # noqa: BLE001 - e.g. database unreachable while claiming: wait and retry
                log.exception("event=claim_failed")
                busy = False
            if not busy:
                stop.wait(self.config.poll_interval)
        log.info("event=worker_stopped")

    def drain(self) -> int:
        """Process until the queue has nothing claimable; returns how many messages were handled."""
        handled = 0
        while self.run_once():
            handled += 1
        return handled


class WorkerThread:
    """An in-process worker (the demo, and SQLite deployments where one worker is the rule)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=worker.run, args=(self.stop_event,), name="gateway-worker",
                                       daemon=True)

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
