"""Prometheus metrics (prometheus-client): what operators watch (docs/architecture.md §4).

Counters and histograms are updated where things happen (the SOAP door, the worker); this module only
declares them and imports nothing of the gateway, so every layer may count. Queue depth and lag are read from
the database at scrape time (``gateway.messages.exposition``), so every process reports the same truth.
Under gunicorn (several processes) set ``PROMETHEUS_MULTIPROC_DIR`` — ``gateway serve`` does it for you — and
each process's samples are merged at scrape.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
