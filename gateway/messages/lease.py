"""The heartbeat that keeps a worker's lease alive while it works on a message.

Leases are short (``worker.lease_seconds``, 30 s by default) so that the message of a worker that died is
claimed by another within one lease; a thread beside the processing renews the lease every
``worker.heartbeat_seconds`` on a connection of its own, so a message of any length (10,000 owners'
decisions) keeps its worker for as long as that worker is alive. The processing transaction never waits
for the heartbeat: its ``complete`` checks the claim token itself, and a worker whose lease was taken over
rolls back (``queue.LeaseLost``).

SQLite takes one writer at a time (every transaction begins IMMEDIATE), so a renewal would wait for the
very transaction it serves; there the single worker's lease is not renewed, and nobody else can claim.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from gateway.messages import queue
from gateway.messages.queue import StoredMessage

log = logging.getLogger("gateway.worker")


class Heartbeat:
    """``with Heartbeat(...):`` renews the message's lease until the block ends."""

    def __init__(self, engine: Engine, message: StoredMessage, *, lease_seconds: int, every: float,
                 clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.message = message
        self.lease_seconds = lease_seconds
        self.every = every
        self.clock = clock
        #: set when a renewal found the lease no longer ours (taken over or finished)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renewed_until = clock() + timedelta(seconds=lease_seconds)

    @staticmethod
    def needed(engine: Engine) -> bool:
        return engine.dialect.name != "sqlite"

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.message.guid}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """No more renewals: called as the worker completes (its commit makes the lease moot; the lease
        left, at least lease - heartbeat seconds, covers the commit) or gives up."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _beat(self) -> None:
        failing_since: datetime | None = None
        while not self._stop.wait(self.every):
            now = self.clock()
            try:
                renewed = queue.renew(self.engine, self.message, now=now, lease_seconds=self.lease_seconds)
            except DBAPIError as exc:  # the database is away: keep trying while the work goes on
                failing_since = failing_since or now
                log.warning("event=lease_renewal_failed message_guid=%s lease_until=%s error=%s",
                            self.message.guid, self._renewed_until.isoformat(), type(exc.orig).__name__)
                continue
            if not renewed:
                log.warning("event=lease_lost message_guid=%s lease_until=%s", self.message.guid,
                            self._renewed_until.isoformat())
                self.lost.set()
                return
            if failing_since is not None:
                log.info("event=lease_renewed_again message_guid=%s failing_s=%.1f", self.message.guid,
                         (now - failing_since).total_seconds())
                failing_since = None
            self._renewed_until = now + timedelta(seconds=self.lease_seconds)
