"""Running one reconciliation job: lock, record, fetch, stage, compare, merge, resolve — or fail cleanly.

1. The run is recorded and the job's lock taken (one run of a job at a time, across processes and hosts; a
   scheduled fire time runs once however many schedulers see it come) — committed at once.
2. In one transaction: the source is staged, compared with the registry, the findings merged into the worklist,
   what the run no longer sees resolved (only after a run that read its source whole), the run finished, the
   staging rows deleted, the lock released. A malformed or truncated source, or any error, rolls all of that
   back: nothing in the registry or the worklist is half-written; the run is then recorded as failed, with the
   error naming the file and line.
"""

from __future__ import annotations

import getpass
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.bootstrap import Gateway
from gateway.domain.authority import today as registry_today
from gateway.domain.discrepancies import RunCounts
from gateway.errors import Code, GatewayError
from gateway.registry import reconciliation as store
from gateway.sync import fetching
from gateway.sync.jobs import JOBS, Context, Progress, _quiet
from gateway.sync.sources import SourceError

log = logging.getLogger("gateway.sync")


class UnknownJob(GatewayError):
    code = Code.SOURCE_UNREADABLE


@dataclass(frozen=True)
class Outcome:
    run_id: str
    job: str
    status: str  # succeeded | partial | failed
    counts: RunCounts
    staged: int
    issues: int
    seconds: float
    error: str | None = None
    source_version: str | None = None

    def lines(self) -> list[str]:
        """What a person reads after a run."""
        lines = [f"run {self.run_id}: job {self.job} {self.status} in {self.seconds:.1f} s; {self.staged:,} "
                 f"reference rows staged, {self.issues} bad record(s) in the source"]
        if self.error:
            lines.append(f"  error: {self.error}")
        counts = self.counts
        for kind in sorted(set(counts.found) | set(counts.auto_resolved)):
            lines.append(f"  {kind:<40} found {counts.found.get(kind, 0):>6}   new {counts.new.get(kind, 0):>6}   "
                         f"reopened {counts.reopened.get(kind, 0):>4}   "
                         f"auto-resolved {counts.auto_resolved.get(kind, 0):>5}")
        if not counts.found and not counts.auto_resolved and self.status != "failed":
            lines.append("  nothing found")
        return lines


def _utcnow() -> datetime:
    return datetime.now(UTC)


def who() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def run_job(gateway: Gateway, name: str, *, source: str | None = None, scheduled_for: datetime | None = None,
            triggered_by: str | None = None, progress: Progress = _quiet,
            clock: Callable[[], datetime] = _utcnow) -> Outcome | None:
    """Run job ``name`` now; None when ``scheduled_for`` was run already by another scheduler.

    ``source`` (a path or an http(s) URL) overrides the configured one. Raises ``JobBusy`` when the job is
    running elsewhere.
    """
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(f"no reconciliation job {name!r}; the jobs are {', '.join(JOBS)}")
    settings = gateway.config.reconciliation
    location = source if source is not None else getattr(settings, f"{name}_source", "") if job.source_kind else ""
    if job.source_kind and not location:
        raise SourceError(f"job {name} needs a source: give --source PATH|URL or set reconciliation.{name}_source",
                          code=Code.SOURCE_UNREADABLE)
    started, actor = clock(), triggered_by or who()
    lease = timedelta(minutes=settings.lock_minutes)
    with gateway.engine.begin() as connection:
        run_id = store.start_run(connection, job=name, triggered_by=actor, scheduled_for=scheduled_for,
                                 source=job.source_kind or None, location=location or None, now=started, lease=lease)
    if run_id is None:
        log.info("event=reconciliation_skipped job=%s scheduled_for=%s reason=already_run", name, scheduled_for)
        return None
    log.info("event=reconciliation_started job=%s run=%s source=%s", name, run_id, location or "-")
    clocked = time.monotonic()
    try:
        outcome = _run(gateway, job.name, run_id, location, actor, progress, clock)
    except Exception as exc:  # noqa: BLE001 - recorded as the run's failure, then raised on for the caller
        error = str(exc) if isinstance(exc, GatewayError) else f"{type(exc).__name__}: {exc}"
        with gateway.engine.begin() as connection:
            store.finish_run(connection, run_id, status="failed", now=clock(), error=error[:4000])
            store.clear_staging(connection, run_id)
            store.release_lock(connection, name, run_id)
        log.error("event=reconciliation_failed job=%s run=%s error=%s", name, run_id, error[:500])
        if isinstance(exc, GatewayError):
            return Outcome(run_id, name, "failed", RunCounts(), 0, 0, time.monotonic() - clocked, error)
        raise
    log.info("event=reconciliation_finished job=%s run=%s status=%s staged=%d issues=%d found=%d seconds=%.1f",
             name, run_id, outcome.status, outcome.staged, outcome.issues, sum(outcome.counts.found.values()),
             outcome.seconds)
    return outcome


def _run(gateway: Gateway, name: str, run_id: str, location: str, actor: str, progress: Progress,
         clock: Callable[[], datetime]) -> Outcome:
    job, settings = JOBS[name], gateway.config.reconciliation
    clocked = time.monotonic()
    sources = job.open(fetching.local(location, name, settings)) if job.source_kind else []
    with gateway.engine.begin() as connection:  # apart: ANALYZE's lock lasts until its transaction ends
        analysed = store.refresh_statistics(connection, job.reads)
    if analysed:
        log.info("event=reconciliation_analysed job=%s run=%s tables=%s", name, run_id, ",".join(analysed))
    with gateway.engine.begin() as connection:
        context = Context(connection, run_id, settings, today=_today(clock), progress=progress,
                          database=gateway.config.database)
        staged = job.stage(context, sources) if sources else 0
        store.analyze(connection, job.staging)
        log.info("event=reconciliation_staged job=%s run=%s rows=%d seconds=%.1f", name, run_id, staged,
                 time.monotonic() - clocked)
        issues = [issue for source in sources for issue in source.issues]
        issue_count = sum(source.issues.count for source in sources)
        now = clock()
        counts = store.merge(connection, name, run_id, job.findings(context), now=now, actor=f"run {run_id}")
        log.info("event=reconciliation_compared job=%s run=%s found=%d seconds=%.1f", name, run_id,
                 sum(counts.found.values()), time.monotonic() - clocked)
        status = "partial" if issue_count else "succeeded"
        if status == "succeeded":  # a source read only in part says nothing of what it did not read
            counts.auto_resolved.update(store.auto_resolve(connection, name, run_id, now=now, actor=f"run {run_id}",
                                                           within=job.scope(run_id)))
        store.record_issues(connection, run_id, ((i.file, i.line, str(i.code), i.message) for i in issues))
        version = "; ".join(s.version for s in sources) or None
        description: dict[str, Any] | None = {"sources": [s.describe() for s in sources]} if sources else None
        store.finish_run(connection, run_id, status=status, now=clock(), counts=counts, issues=issue_count,
                         version=version, description=description)
        store.clear_staging(connection, run_id)
        store.release_lock(connection, name, run_id)
    return Outcome(run_id, name, status, counts, staged, issue_count, time.monotonic() - clocked,
                   source_version=version)


def _today(clock: Callable[[], datetime]) -> date:
    return registry_today(clock())
