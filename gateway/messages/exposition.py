"""The /metrics page: this process's (or all processes') counters (``gateway.metrics``) plus the queue's depth
and lag, read from the database at scrape time (prometheus-client multiprocess mode under ``gateway serve``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.messages import queue
from gateway.metrics import ACK_TO_DONE, OBJECTS, PROCESSING_FAILURES, REFUSALS, REQUESTS


class QueueCollector(Collector):
    """The queue read at scrape time: messages by state; the unfinished ones by stage (waiting to be claimed,
    in flight under a lease, retrying after a failure) with the age of the oldest of each; and the lag (the
    age of the oldest waiting message: leased and retrying messages are not waiting). While the database
    does not answer, only ``gateway_database_up`` 0 (the process's counters are still served)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("gateway_messages", "Messages in the queue/archive by state", labels=["state"])
        stages = GaugeMetricFamily("gateway_queue_messages",
                                   "Unfinished messages by stage: waiting (claimable, not claimed), in_flight "
                                   "(leased by a live worker), retrying (failed, waiting out the back-off)",
                                   labels=["stage"])
        ages = GaugeMetricFamily("gateway_queue_oldest_age_seconds",
                                 "Seconds since the oldest message of each stage was received (0 when none)",
                                 labels=["stage"])
        lag = GaugeMetricFamily("gateway_queue_lag_seconds",
                                "Age of the oldest message waiting to be claimed (= oldest waiting age)")
        up = GaugeMetricFamily("gateway_database_up", "1 if the database answered this scrape, else 0")
        try:
            with self.engine.connect() as connection:
                for state, count in queue.depth(connection).items():
                    depth.add_metric([state], count)
                backlog = queue.backlog(connection, now=datetime.now(UTC))
        except SQLAlchemyError as exc:  # the counters are still worth scraping; the gauge says what is missing
            logging.getLogger("gateway.metrics").warning("event=metrics_database_down reason=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        for stage, found in backlog.items():
            stages.add_metric([stage.value], found.count)
            ages.add_metric([stage.value], queue_lag(found.oldest_received_at))
        lag.add_metric([], queue_lag(backlog[queue.Stage.WAITING].oldest_received_at))
        up.add_metric([], 1)
        yield up
        yield depth
        yield stages
        yield ages
        yield lag


def queue_lag(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max((datetime.now(UTC) - oldest).total_seconds(), 0.0)


def page(engine: Engine) -> bytes:
    """The /metrics page: this process's (or all processes') samples plus the queue read from the database."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (REQUESTS, REFUSALS, ACK_TO_DONE, OBJECTS, PROCESSING_FAILURES):
            registry.register(collector)
    registry.register(QueueCollector(engine))
    return bytes(generate_latest(registry))
