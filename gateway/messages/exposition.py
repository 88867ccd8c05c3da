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
    """Queue depth by state and the age of the oldest waiting message, read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("gateway_messages", "Messages in the queue/archive by state", labels=["state"])
        lag = GaugeMetricFamily("gateway_queue_lag_seconds", "Age of the oldest message waiting to be processed")
        up = GaugeMetricFamily("gateway_database_up", "1 if the database answered this scrape, else 0")
        try:
            with self.engine.connect() as connection:
                for state, count in queue.depth(connection).items():
                    depth.add_metric([state], count)
                lag.add_metric([], queue_lag(queue.oldest_waiting(connection)))
        except SQLAlchemyError as exc:  # the counters are still worth scraping; the gauge says what is missing
            logging.getLogger("gateway.metrics").warning("event=metrics_database_down reason=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield depth
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
