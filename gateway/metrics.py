"""Prometheus metrics (prometheus-client): what operators watch (DESIGN §4; issue: observability).

Counters and histograms are updated where things happen (the SOAP door, the worker); queue depth and
lag are read from the database at scrape time, so every process reports the same truth. Under gunicorn
(several processes) set ``PROMETHEUS_MULTIPROC_DIR`` — ``gateway serve`` does it for you — and each
process's samples are merged at scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from gateway.messages import queue

REQUESTS = Counter("gateway_requests_total", "SOAP requests by operation and outcome (accepted, resend, refused)",
                   ["operation", "outcome"])
REFUSALS = Counter("gateway_refusals_total", "Requests refused at the door, by error code (signature, schema, ...)",
                   ["code"])
ACK_TO_DONE = Histogram("gateway_ack_to_done_seconds", "From acceptance (Ack) to processed, per message",
                        ["operation"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))
OBJECTS = Counter("gateway_objects_processed_total", "Objects (TransportGUIDs) processed, by operation and result",
                  ["operation", "result"])
READING_FLAGS = Counter("gateway_reading_warnings_total",
                        "Readings accepted with a warning (high_consumption, verification_overdue, rollover)",
                        ["flag"])
PROTOCOL_FLAGS = Counter("gateway_protocols_flagged_total",
                         "Meeting protocols whose declared quorum or results contradict the registry's count")
PROCESSING_FAILURES = Counter("gateway_processing_failures_total",
                              "Failed processing attempts, by operation and what became of the message",
                              ["operation", "next_state"])


class QueueCollector(Collector):
    """The queue read at scrape time: messages by state; the unfinished ones by stage (waiting to be claimed,
    in flight under a lease, retrying after a failure) with the age of the oldest of each; and the lag
    (the age of the oldest waiting message: leased and retrying messages are not waiting)."""

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
        with self.engine.connect() as connection:
            for state, count in queue.depth(connection).items():
                depth.add_metric([state], count)
            backlog = queue.backlog(connection, now=datetime.now(UTC))
        for stage, found in backlog.items():
            stages.add_metric([stage.value], found.count)
            ages.add_metric([stage.value], queue_lag(found.oldest_received_at))
        lag.add_metric([], queue_lag(backlog[queue.Stage.WAITING].oldest_received_at))
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


def exposition(engine: Engine) -> bytes:
    """The /metrics page: this process's (or all processes') samples plus the queue read from the database."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (REQUESTS, REFUSALS, ACK_TO_DONE, OBJECTS, PROCESSING_FAILURES):
            registry.register(collector)
    registry.register(QueueCollector(engine))
    return bytes(generate_latest(registry))
