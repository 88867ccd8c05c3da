"""The push journal: a SQLite file beside the input, so a push survives a crash, a kill or a dropped line.

What it holds, and when: the plan (every batch's unsigned request and which input lines it carries, and
the lines refused locally) before anything is sent; a batch's **signed envelope and MessageGUID before it is
sent**; the gateway's Ack; each poll; each line's outcome. A batch found ``signed`` on ``--resume`` may or
may not have reached the gateway: it is sent again as the same bytes under the same MessageGUID, which the
gateway answers with the original Ack and never stores twice. A ``done`` batch is never sent again.

Every state change is its own committed transaction (WAL, synchronous=FULL), so a SIGKILL between any two
leaves the file consistent. Times are wall-clock epoch seconds, so a resumed push keeps each message's
poll schedule from its Ack.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from providers.codes import RowError
from providers.wire import State

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1), kind TEXT NOT NULL, input TEXT NOT NULL, sha256 TEXT NOT NULL,
    org_guid TEXT NOT NULL, created_at REAL NOT NULL, planned INTEGER NOT NULL DEFAULT 0, finished_at REAL);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY, operation TEXT NOT NULL, body BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('planned', 'signed', 'acked', 'done')),
    message_guid TEXT, envelope BLOB, ack_guid TEXT, acked_at REAL, polls INTEGER NOT NULL DEFAULT 0,
    next_poll_at REAL, done_at REAL, error_code TEXT, error_message TEXT);
CREATE TABLE IF NOT EXISTS rows (
    line INTEGER PRIMARY KEY, batch INTEGER REFERENCES batches (seq), transport_guid TEXT, parent_guid TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    error_code TEXT, error_message TEXT, column_name TEXT, guid TEXT, unique_number TEXT, extra TEXT);
CREATE INDEX IF NOT EXISTS rows_batch ON rows (batch);
"""


def path_for(input_path: Path) -> Path:
    return input_path.with_name(input_path.name + ".journal.sqlite3")


@dataclass(frozen=True)
class BatchRow:
    seq: int
    operation: str
    state: str
    body: bytes
    message_guid: str | None
    envelope: bytes | None
    ack_guid: str | None
    acked_at: float | None
    polls: int
    next_poll_at: float | None
    rows: int


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ---- the run

    def start(self, *, kind: str, input_path: Path, sha256: str, org_guid: str, now: float) -> None:
        self.db.execute("INSERT INTO run (id, kind, input, sha256, org_guid, created_at) VALUES (1, ?, ?, ?, ?, ?)",
                        (kind, str(input_path), sha256, org_guid, now))

    def run(self) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        try:
            row: sqlite3.Row | None = self.db.execute("SELECT * FROM run WHERE id = 1").fetchone()
            return row
        finally:
            self.db.row_factory = None

    def finished(self, now: float) -> None:
        self.db.execute("UPDATE run SET finished_at = ? WHERE id = 1", (now,))

    # ---- the plan, in one transaction

    def record_plan(self, batches: Iterable[tuple[str, bytes, list[tuple[int, str, str | None]]]],
                    rejected: Iterable[RowError]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for seq, (operation, body, refs) in enumerate(batches, start=1):
                self.db.execute("INSERT INTO batches (seq, operation, body, state) VALUES (?, ?, ?, 'planned')",
                                (seq, operation, zlib.compress(body)))
                self.db.executemany(
                    "INSERT INTO rows (line, batch, transport_guid, parent_guid, state) VALUES (?, ?, ?, ?, 'pending')",
                    [(line, seq, guid, parent) for line, guid, parent in refs])
            self.db.executemany(
                "INSERT OR REPLACE INTO rows (line, state, error_code, error_message, column_name) "
                "VALUES (?, 'rejected', ?, ?, ?)",
                [(e.line, str(e.code), e.message, e.column) for e in rejected])
            self.db.execute("UPDATE run SET planned = 1 WHERE id = 1")

    # ---- batches

    def batches(self, *states: str) -> list[BatchRow]:
        found = self.db.execute(
            "SELECT b.seq, operation, b.state, body, message_guid, envelope, ack_guid, acked_at, polls, next_poll_at, "
            "(SELECT count(*) FROM rows r WHERE r.batch = b.seq) FROM batches b ORDER BY b.seq").fetchall()
        return [BatchRow(seq, op, state, zlib.decompress(body), guid, zlib.decompress(env) if env else None, ack,
                         acked_at, polls, next_at, rows)
                for seq, op, state, body, guid, env, ack, acked_at, polls, next_at, rows in found if state in states]

    def signed(self, seq: int, message_guid: str, envelope: bytes) -> None:
        """Journaled before the bytes go: a resend after a crash is these bytes under this MessageGUID."""
        self.db.execute("UPDATE batches SET state = 'signed', message_guid = ?, envelope = ? WHERE seq = ? "
                        "AND state = 'planned'", (message_guid, zlib.compress(envelope), seq))

    def acked(self, seq: int, ack_guid: str, at: float, next_poll_at: float) -> None:
        self.db.execute("UPDATE batches SET state = 'acked', ack_guid = ?, acked_at = ?, next_poll_at = ? "
                        "WHERE seq = ?", (ack_guid, at, next_poll_at, seq))

    def polled(self, seq: int, polls: int, next_poll_at: float) -> None:
        self.db.execute("UPDATE batches SET polls = ?, next_poll_at = ? WHERE seq = ?", (polls, next_poll_at, seq))

    def refused(self, seq: int, code: str, message: str, now: float) -> None:
        """The gateway refused the batch at the door (a SOAP fault): every line of it is rejected with that code."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE batches SET state = 'done', done_at = ?, error_code = ?, error_message = ? "
                            "WHERE seq = ?", (now, code, message, seq))
            self.db.execute("UPDATE rows SET state = 'rejected', error_code = ?, error_message = ? WHERE batch = ?",
                            (code, message, seq))

    def done(self, seq: int, state: State, now: float, *, missing_code: str) -> tuple[int, int]:
        """Record each line's outcome; returns (accepted, rejected) lines of the batch."""
        by_guid = {o.transport_guid: o for o in state.objects}
        updates: list[tuple[str, str | None, str | None, str | None, str | None, str | None, int]] = []
        for line, guid, parent_guid in self.db.execute(
                "SELECT line, transport_guid, parent_guid FROM rows WHERE batch = ?", (seq,)).fetchall():
            own, parent = by_guid.get(guid), by_guid.get(parent_guid) if parent_guid else None
            if state.error_code is not None:
                updates.append(("rejected", state.error_code, state.description, None, None, None, line))
            elif parent is not None and not parent.ok:
                updates.append(("rejected", parent.error_code, f"the house: {parent.description}", None, None, None,
                                line))
            elif own is None:
                updates.append(("rejected", missing_code, f"the gateway gave no result for TransportGUID {guid}",
                                None, None, None, line))
            elif own.ok:
                updates.append(("accepted", None, None, own.guid, own.unique_number, json.dumps(own.extra,
                                                                                               ensure_ascii=False),
                                line))
            else:
                updates.append(("rejected", own.error_code, own.description, None, None, None, line))
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("UPDATE rows SET state = ?, error_code = ?, error_message = ?, guid = ?, "
                                "unique_number = ?, extra = ? WHERE line = ?", updates)
            self.db.execute("UPDATE batches SET state = 'done', done_at = ?, error_code = ?, error_message = ? "
                            "WHERE seq = ?", (now, state.error_code, state.description, seq))
        accepted = sum(1 for u in updates if u[0] == "accepted")
        return accepted, len(updates) - accepted

    # ---- lines

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM rows GROUP BY state").fetchall())

    def batch_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM batches GROUP BY state").fetchall())

    def rejected(self) -> Iterator[tuple[int, str, str, str | None]]:
        yield from self.db.execute("SELECT line, error_code, error_message, column_name FROM rows "
                                   "WHERE state = 'rejected' ORDER BY line")

    def accepted(self) -> Iterator[tuple[int, str | None, str | None, str | None]]:
        yield from self.db.execute("SELECT line, guid, unique_number, extra FROM rows WHERE state = 'accepted' "
                                   "ORDER BY line")
