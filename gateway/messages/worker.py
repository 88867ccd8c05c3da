"""The worker loop: claim a message, process it in one transaction with its result, or record the failure."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from gateway import metrics
from gateway.config import WorkerConfig
from gateway.domain.provenance import Provenance
from gateway.messages import queue
from gateway.messages.lease import Heartbeat
from gateway.messages.queue import StoredMessage
from gateway.registry import tables
from gateway.registry.sql import refresh_statistics
from gateway.registry.unit_of_work import UnitOfWork

log = logging.getLogger("gateway.worker")
#: pg_try_advisory_xact_lock key: one worker at a time checks and refreshes statistics ("dgstats" as an integer)
_STATISTICS_LOCK = int.from_bytes(b"dgstats", "big")

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
        self.stop_event = threading.Event()  # ``run`` waits on it; a back-off ends early when it is set
        self._statistics_due = 0.0  # time.monotonic() of the next statistics check

    def run_once(self) -> bool:
        """Process at most one message. Returns False when the queue had nothing to do."""
        message = queue.claim(self.engine, now=self.clock(), lease_seconds=self.config.lease_seconds)
        if message is None:
            return False
        started = self.clock()
        beat = Heartbeat(self.engine, message, lease_seconds=self.config.lease_seconds,
                         every=self.config.renew_every, clock=self.clock)
        try:
            with beat if Heartbeat.needed(self.engine) else nullcontext(beat):
                provenance = Provenance.of_message(message.guid, message.org_guid, signed_by=message.signed_by,
                                                   power=message.power_guid)
                with self.unit_of_work(provenance) as uow:
                    result = self.handler(uow, message, started)
                    beat.stop()
                    queue.complete(uow.connection, message, result, now=self.clock())
                    uow.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried, none swallowed
            self._after_failure(message, exc)
            return True
        finished = self.clock()
        elapsed_ms = (finished - started).total_seconds() * 1000
        metrics.ACK_TO_DONE.labels(message.operation).observe(
            max((finished - message.received_at).total_seconds(), 0.0))
        log.info("event=processed message_guid=%s org=%s operation=%s attempt=%d ms=%.1f",
                 message.guid, message.org_guid, message.operation, message.attempts, elapsed_ms)
        return True

    def _after_failure(self, message: StoredMessage, exc: Exception) -> None:
        """Record the failure, or give the claim back if the database went away under the processing; when
        the database does not answer, retry with back-off until it does (within the lease)."""
        error = f"{type(exc).__name__}: {exc}"
        if database_lost(exc):
            log.warning("event=database_lost_during_processing message_guid=%s org=%s operation=%s attempt=%d "
                        "error=%s", message.guid, message.org_guid, message.operation, message.attempts,
                        type(exc).__name__)
            if self._when_database_answers(message, lambda: queue.release(
                    self.engine, message, f"released after a database error: {error}", now=self.clock())):
                log.info("event=claim_released message_guid=%s operation=%s", message.guid, message.operation)
                metrics.PROCESSING_FAILURES.labels(message.operation, "released").inc()
            return
        # an error marked permanent (the stored envelope no longer gives the signed bytes) fails the same way on
        # every attempt: dead-lettered at once, not retried max_attempts times
        permanent = bool(getattr(exc, "permanent", False))
        log.error("event=process_failed message_guid=%s org=%s operation=%s attempt=%d permanent=%s", message.guid,
                  message.org_guid, message.operation, message.attempts, "yes" if permanent else "no", exc_info=exc)
        retry_in = min(2.0 ** message.attempts, 300.0)
        attempts = message.attempts if permanent else self.config.max_attempts
        states: list[queue.MessageState] = []
        if self._when_database_answers(message, lambda: states.append(queue.record_failure(
                self.engine, message, error, now=self.clock(), max_attempts=attempts, retry_in=retry_in))):
            log.info("event=failure_recorded message_guid=%s operation=%s attempt=%d next_state=%s retry_in_s=%s",
                     message.guid, message.operation, message.attempts, states[0], retry_in)
            metrics.PROCESSING_FAILURES.labels(message.operation, states[0].value).inc()

    def _when_database_answers(self, message: StoredMessage, action: Callable[[], object]) -> bool:
        """Run ``action`` as soon as the database answers. Gives up (False) when the worker is stopping or
        the lease has run out: the message is then claimable again anyway."""
        lost_at = self.clock()
        give_up = lost_at + timedelta(seconds=self.config.lease_seconds)
        for delay in self._backoff():
            try:
                action()
            except (OperationalError, InterfaceError) as exc:
                if self.stop_event.is_set() or self.clock() + timedelta(seconds=delay) > give_up:
                    log.warning("event=claim_left_to_lease message_guid=%s reason=%s", message.guid,
                                "stopping" if self.stop_event.is_set() else "database away for a whole lease")
                    return False
                log.warning("event=database_unreachable while=settling message_guid=%s retry_in_s=%.2f error=%s",
                            message.guid, delay, type(exc).__name__)
                self.stop_event.wait(delay)
                continue
            if self.clock() - lost_at > timedelta(seconds=0.5):
                log.info("event=database_back while=settling message_guid=%s after_s=%.1f", message.guid,
                         (self.clock() - lost_at).total_seconds())
            return True
        return False  # pragma: no cover - the back-off never ends

    def _backoff(self) -> Iterator[float]:
        delay = 0.1
        while True:
            yield delay
            delay = min(delay * 2, self.config.reconnect_max_seconds)

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, polling the queue when it is empty; when the database does not
        answer, retry with back-off (0.1 s doubling up to ``reconnect_max_seconds``)."""
        self.stop_event = stop
        log.info("event=worker_started poll_interval=%s lease_s=%s heartbeat_s=%s", self.config.poll_interval,
                 self.config.lease_seconds, self.config.renew_every)
        backoff: Iterator[float] | None = None
        unreachable_since: datetime | None = None
        while not stop.is_set():
            try:
                busy = self.run_once()
            except (OperationalError, InterfaceError) as exc:  # the database is away while claiming
                unreachable_since = unreachable_since or self.clock()
                backoff = backoff or self._backoff()
                delay = next(backoff)
                log.warning("event=database_unreachable while=claiming retry_in_s=%.2f error=%s", delay,
                            type(exc).__name__)
                stop.wait(delay)
                continue
            except Exception:  # noqa: BLE001 - any other failure to claim: log it, wait a poll, go on
                log.exception("event=claim_failed")
                busy = False
            if unreachable_since is not None:
                log.info("event=database_back while=claiming after_s=%.1f",
                         (self.clock() - unreachable_since).total_seconds())
                backoff, unreachable_since = None, None
            self.refresh_statistics()
            if not busy:
                stop.wait(self.config.poll_interval)
        log.info("event=worker_stopped")

    def refresh_statistics(self) -> list[str]:
        """PostgreSQL, at most every ``statistics_seconds``: ANALYZE the registry's tables whose statistics are
        missing or stale (``gateway.registry.sql.refresh_statistics``), by one worker at a time (the others skip
        the round). Returns the tables analysed; a failure is logged, never the worker's reason to stop."""
        every = self.config.statistics_seconds
        if every <= 0 or self.engine.dialect.name != "postgresql" or time.monotonic() < self._statistics_due:
            return []
        self._statistics_due = time.monotonic() + every
        try:
            with self.engine.begin() as connection:
                if not connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                          {"key": _STATISTICS_LOCK}).scalar():
                    return []
                # partitioned parents are left out (their ANALYZE samples every partition; the ingest's plans
                # read the partitions' own statistics), and a locked table is skipped, never waited for
                analysed = refresh_statistics(connection, tables.metadata.sorted_tables, parents=False,
                                              skip_locked=True)
        except Exception as exc:  # noqa: BLE001 - statistics are an optimisation; the queue goes on
            log.warning("event=statistics_not_refreshed error=%s", type(exc).__name__)
            return []
        if analysed:
            log.info("event=statistics_refreshed tables=%s", ",".join(analysed))
        return analysed

    def drain(self) -> int:
        """Process until the queue has nothing claimable; returns how many messages were handled."""
        handled = 0
        while self.run_once():
            handled += 1
        return handled


def database_lost(exc: BaseException) -> bool:
    """The connection to the database broke (server restarted, network gone): not the message's fault."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


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
