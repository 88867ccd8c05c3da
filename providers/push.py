"""``gateway-provider push``: a file → checked rows → journaled batches → signed, sent, polled → per-row results.

1. Read and check every row (``providers.layouts``). A file with wrong rows sends nothing (exit 2) unless
   ``send_valid``: then its valid rows go and the wrong ones go to the rejects file.
2. Plan (``providers.planning``): look-ups, grouping, batching at the operation's limit, the XSD; the
   plan goes into the journal in one transaction.
3. Send and poll in one loop: a batch is signed and its envelope journaled, then posted; each message is
   polled on its own schedule from its Ack (``providers.polling``); at most ``max_in_flight`` messages
   await results at once. On ``resume``, ``signed`` batches are re-posted byte for byte under their
   MessageGUID (the gateway answers with the original Ack), ``acked`` ones are polled, ``done`` ones left.
4. The rejects file: the input's failed rows with ``error_code`` and ``error_message``, in its format.

Exit status: 0 every row accepted, 1 some rows rejected, 2 could not run (the caller maps ``Stop``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.xmlparse import parse_untrusted
from providers import journal as journal_mod
from providers import layouts, planning, tabular
from providers.client import PollTimeout, Prepared, ProviderClient
from providers.codes import Local, RowError
from providers.errors import ProviderError
from providers.operations import OPERATIONS
from providers.transport import Unreachable
from providers.wire import AnswerNotTrusted, BadAnswer, GatewayFault

#: faults that no resend can cure until someone acts (certificate, organisation, header): stop the push
STOPPING_FAULTS = ("INT002", "INT001006", "INT001010")


class Stop(ProviderError):
    """The push cannot go on; the message says why and what to do. Exit status 2."""


@dataclass
class Summary:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    local_rejected: int = 0
    batches: int = 0
    rejects_file: Path | None = None
    results_file: Path | None = None
    seconds: float = 0.0
    poll_wait_seconds: float = 0.0  # time spent sleeping until the next poll was due
    errors_shown: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.rejected == 0 else 1


@dataclass(frozen=True)
class Options:
    kind: str
    path: Path
    resume: bool = False
    send_valid: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    max_in_flight: int = 100
    batch_size: int | None = None
    nsi: dict[int, dict[str, str]] = field(default_factory=dict)


def rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects{path.suffix}")


def push(options: Options, client: ProviderClient, *, say: Callable[[str], None],
         progress: Callable[[int], Callable[[int], Any]] | None = None,
         clock: Callable[[], float] = time.time) -> Summary:
    started = time.monotonic()
    layout = layouts.LAYOUTS[options.kind]
    try:
        table = tabular.open_table(options.path, encoding=options.encoding, delimiter=options.delimiter)
    except RowError as error:
        raise Stop(error.render(str(options.path))) from None
    journal = _open_journal(options, table, client.org_guid, clock, say)
    try:
        summary = Summary()
        if not (journal.run() or {"planned": 0})["planned"]:
            _plan(options, layout, table, client, journal, summary, say)
        _send_and_poll(options, client, journal, summary, say, progress, clock)
        journal.finished(clock())
        counts = journal.counts()
        summary.accepted, summary.rejected = counts.get("accepted", 0), counts.get("rejected", 0)
        summary.rows = sum(counts.values())
        summary.rejects_file = _write_rejects(table, journal)
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        journal.close()


def _open_journal(options: Options, table: tabular.Table, org: str, clock: Callable[[], float],
                  say: Callable[[str], None]) -> journal_mod.Journal:
    path = journal_mod.path_for(options.path)
    if path.exists():
        existing = journal_mod.Journal(path)
        run = existing.run()
        if run is not None and run["finished_at"] is None:
            if not options.resume:
                existing.close()
                raise Stop(f"{path} holds an unfinished push of this file: run again with --resume to finish it "
                           "(resent batches keep their MessageGUID), or move the journal away to start over")
            if run["sha256"] != table.sha256 or run["kind"] != options.kind:
                existing.close()
                raise Stop(f"{options.path} changed since the push journaled in {path} began (or another KIND): "
                           "restore the file, or move the journal away to start over")
            if run["org_guid"] != org:
                existing.close()
                raise Stop(f"{path} is a push of organisation {run['org_guid']}, not of {org} in this config")
            say(f"resuming the push journaled in {path.name}")
            return existing
        if run is not None and run["sha256"] == table.sha256 and run["kind"] == options.kind:
            say(f"{options.path.name} was pushed already (journal {path.name}): its results, nothing sent again; "
                "move the journal away to send the file once more")
            return existing
        existing.close()
        if run is not None:  # a finished push of an earlier file: keep it, start anew
            path.rename(path.with_name(f"{path.name}.{int(run['finished_at'])}"))
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        else:
            path.unlink()
    elif options.resume:
        say(f"no journal {path.name} to resume: starting the push")
    fresh = journal_mod.Journal(path)
    fresh.start(kind=options.kind, input_path=options.path, sha256=table.sha256, org_guid=org, now=clock())
    return fresh


def _plan(options: Options, layout: layouts.Layout, table: tabular.Table, client: ProviderClient,
          journal: journal_mod.Journal, summary: Summary, say: Callable[[str], None]) -> None:
    file = options.path.name
    started = time.monotonic()
    missing = layouts.missing_columns(layout, table.header)
    if missing:
        raise Stop(f"{file}:1: {Local.COLUMN_MISSING} the header lacks the column(s) {', '.join(missing)} "
                   f"(the {options.kind} layout is in docs/providers.md)")
    index = {name: i for i, name in reversed(list(enumerate(table.header)))}
    rows: list[planning.Row] = []
    errors: list[RowError] = []
    for line, cells in table.rows():
        values, row_errors = layouts.parse_row(layout, index, cells, options.nsi)
        for error in row_errors:
            error.line = line
        errors.extend(row_errors)
        if not row_errors:
            rows.append(planning.Row(line, values))
    if not rows and not errors:
        raise Stop(f"{file}: {Local.FILE_UNREADABLE} no data rows under the header")
    if errors and not options.send_valid:
        _refuse(errors, file, table, journal, say)
    lookups = planning.Lookups(_fetcher(client), options.nsi.get(2, {}))
    try:
        plan = planning.plan(layout, rows, lookups, batch_size=options.batch_size)
    except (Unreachable, GatewayFault, AnswerNotTrusted, BadAnswer, PollTimeout) as exc:
        raise Stop(f"looking up premises, accounts or devices in the registry: {exc}") from None
    errors.extend(plan.rejected)
    if plan.rejected and not options.send_valid:
        _refuse(errors, file, table, journal, say)
    _show(errors, file, say)
    summary.local_rejected = len(errors)
    journal.record_plan(((b.operation, b.body, [(r.line, r.transport_guid, r.parent_guid) for r in b.rows])
                         for b in plan.batches), errors)
    say(f"{file}: {len(rows)} row(s) checked into {len(plan.batches)} request(s) (XSD-valid, journaled): "
        f"planned in {time.monotonic() - started:.1f} s")


def _refuse(errors: list[RowError], file: str, table: tabular.Table, journal: journal_mod.Journal,
            say: Callable[[str], None]) -> None:
    """Nothing is sent: print every wrong row, write them to the rejects file, drop the journal (nothing to resume)."""
    _show(errors, file, say)
    journal.record_plan([], errors)
    written = _write_rejects(table, journal)
    journal.close()
    for suffix in ("", "-wal", "-shm"):
        journal.path.with_name(journal.path.name + suffix).unlink(missing_ok=True)
    lines = len({e.line for e in errors})
    raise Stop(f"{file}: {lines} row(s) fail local validation; nothing was sent. Correct them "
               f"(see {written.name if written else 'above'}), or pass --send-valid to send the valid rows "
               "and reject these")


SHOWN = 50


def _show(errors: list[RowError], file: str, say: Callable[[str], None]) -> None:
    errors.sort(key=lambda e: e.line or 0)
    for error in errors[:SHOWN]:
        say(error.render(file))
    if len(errors) > SHOWN:
        say(f"… and {len(errors) - SHOWN} more (all are in the rejects file)")


def _fetcher(client: ProviderClient) -> Callable[[str, list[str]], dict[str, Any]]:
    def fetch(what: str, houses: list[str]) -> dict[str, Any]:
        export = {"premises": client.export_house_many, "accounts": client.export_accounts_many,
                  "devices": client.export_devices_many}[what]
        return export(houses)

    return fetch


# ---- send and poll


@dataclass
class _InFlight:
    seq: int
    operation: str
    ack_guid: str
    acked_at: float
    polls: int
    next_poll_at: float
    rows: int


def _send_and_poll(options: Options, client: ProviderClient, journal: journal_mod.Journal, summary: Summary,
                   say: Callable[[str], None], progress: Callable[[int], Callable[[int], Any]] | None,
                   clock: Callable[[], float]) -> None:
    pending = journal.batches("planned", "signed")
    in_flight = [_InFlight(b.seq, b.operation, b.ack_guid or "", b.acked_at or clock(), b.polls,
                           b.next_poll_at or clock(), b.rows) for b in journal.batches("acked")]
    summary.batches = len(pending) + len(in_flight) + journal.batch_counts().get("done", 0)
    total_rows = sum(b.rows for b in pending) + sum(f.rows for f in in_flight)
    tick = progress(total_rows) if progress else None
    schedule = client.polling
    try:
        while pending or in_flight:
            due = min(in_flight, key=lambda f: f.next_poll_at) if in_flight else None
            now = clock()
            if pending and len(in_flight) < options.max_in_flight and (due is None or due.next_poll_at > now):
                batch = pending.pop(0)
                flight = _send(batch, client, journal, clock, schedule.delay(0))
                if flight is not None:
                    in_flight.append(flight)
                elif tick:
                    tick(batch.rows)
                continue
            assert due is not None
            if due.next_poll_at > now:
                wait = due.next_poll_at - now
                summary.poll_wait_seconds += wait
                time.sleep(wait)
            state = client.get_state(due.ack_guid, OPERATIONS[due.operation].service)
            due.polls += 1
            if state.done:
                journal.done(due.seq, state, clock(), missing_code=Local.NO_RESULT)
                in_flight.remove(due)
                if tick:
                    tick(due.rows)
                continue
            waited = clock() - due.acked_at
            if waited + schedule.delay(due.polls) > schedule.give_up_after:
                raise Stop(f"message {due.ack_guid} is still processing after {waited:.0f} s: run push --resume "
                           "later to collect the results")
            due.next_poll_at = clock() + schedule.delay(due.polls)
            journal.polled(due.seq, due.polls, due.next_poll_at)
    except Unreachable as exc:
        raise Stop(f"the gateway is unreachable ({exc}); every batch is journaled: run the same command with "
                   "--resume when it is back") from None
    except AnswerNotTrusted as exc:
        raise Stop(f"an answer failed the gateway signature check: {exc}; is [gateway] gateway_cert the gateway's "
                   "current certificate?") from None
    except BadAnswer as exc:
        raise Stop(f"the gateway answered something unexpected: {exc}; run again with --resume") from None


def _send(batch: journal_mod.BatchRow, client: ProviderClient, journal: journal_mod.Journal,
          clock: Callable[[], float], first_delay: float) -> _InFlight | None:
    """Post one batch; the signed bytes are journaled first, and a ``signed`` batch is re-posted as it is."""
    if batch.state == "planned":
        prepared = client.prepare(parse_untrusted(batch.body))
        journal.signed(batch.seq, prepared.message_guid, prepared.data)
    else:
        assert batch.envelope is not None and batch.message_guid is not None
        prepared = Prepared(batch.operation, batch.message_guid, batch.envelope)
    try:
        ack = client.post(prepared)
    except GatewayFault as fault:
        if fault.code.startswith(STOPPING_FAULTS):
            raise Stop(f"the gateway refuses this sender: {fault}; nothing more is sent. When it is fixed "
                       "(e.g. the operator registered the certificate), run again with --resume") from None
        journal.refused(batch.seq, fault.code, fault.message, clock())
        return None
    at = clock()
    journal.acked(batch.seq, ack, at, at + first_delay)
    return _InFlight(batch.seq, batch.operation, ack, at, 0, at + first_delay, batch.rows)


def _write_rejects(table: tabular.Table, journal: journal_mod.Journal) -> Path | None:
    target = rejects_path(table.path)
    failed = {line: (code, f"{column}: {message}" if column else message)
              for line, code, message, column in journal.rejected()}
    if not failed:
        target.unlink(missing_ok=True)
        return None
    writer = tabular.RejectsWriter(table, target)
    for line, cells in table.rows():
        if line in failed:
            writer.add(line, cells, *failed[line])
    writer.close()
    return target
