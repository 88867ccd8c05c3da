"""``gateway reconcile …`` and ``gateway scheduler``: reconciliation for support staff (gateway.sync)."""

from __future__ import annotations

import csv
import io
import json
import socket
import sys
from collections.abc import Iterable
from typing import Any

import click

from gateway.sync import fixes
from gateway.sync.jobs import JOBS
from gateway.sync.runner import run_job, who


def _progress(rows: Iterable[Any], what: str) -> Iterable[Any]:
    """A progress bar with the count and rate on a terminal (the total is unknown while a source streams);
    nothing when the output is not a terminal."""
    from tqdm import tqdm

    bar: Iterable[Any] = tqdm(rows, desc=what, unit=" rows", disable=not sys.stderr.isatty(), mininterval=0.5,
                              leave=False)
    return bar


@click.group("reconcile")
def reconcile_group() -> None:
    """Reconciliation against GAR, EGRN and the licence register, and the discrepancy worklist."""


@reconcile_group.command("run")
@click.argument("job", type=click.Choice(sorted(JOBS)))
@click.option("--source", help="A path (file or folder) or an http(s) URL; default: reconciliation.<job>_source.")
@click.pass_obj
def reconcile_run(obj: Any, job: str, source: str | None) -> None:
    """Run JOB now and print what it found."""
    gateway = obj.gateway()
    outcome = run_job(gateway, job, source=source, triggered_by=who(), progress=_progress)
    assert outcome is not None
    for line in outcome.lines():
        click.echo(line)
    if outcome.status == "failed":
        raise click.ClickException(f"job {job} failed: {outcome.error}")


@reconcile_group.command("list")
@click.pass_obj
def reconcile_list(obj: Any) -> None:
    """The jobs, their sources and schedules, and their last run."""
    from gateway.registry import reconciliation as store
    from gateway.sync.scheduler import schedules

    gateway = obj.gateway()
    settings = gateway.config.reconciliation
    planned = schedules(gateway)
    with gateway.engine.connect() as connection:
        for name, job in JOBS.items():
            last = store.runs(connection, job=name, limit=1)
            source = getattr(settings, f"{name}_source", "") if job.source_kind else "(the registry itself)"
            ran = f"last run {last[0].status} {last[0].started_at:%Y-%m-%d %H:%M}" if last else "never run"
            click.echo(f"{name:<10} {job.description}\n           source {source or '(not configured)'}; "
                       f"schedule {planned.get(name, 'by hand only')}; {ran}")


@reconcile_group.command("runs")
@click.option("--job", type=click.Choice(sorted(JOBS)))
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--issues", "issues_of", metavar="RUN_ID", help="List the bad source records of one run instead.")
@click.pass_obj
def reconcile_runs(obj: Any, job: str | None, limit: int, issues_of: str | None) -> None:
    """Recent runs, newest first (or the bad records one run met)."""
    from gateway.registry import reconciliation as store

    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        if issues_of:
            for file, line, code, message in store.issues_of(connection, issues_of):
                click.echo(f"{code} {file}:{line or '-'}: {message}")
            return
        for run in store.runs(connection, job=job, limit=limit):
            found = sum((run.counts or {}).get("found", {}).values())
            took = f"{(run.finished_at - run.started_at).total_seconds():.1f} s" if run.finished_at else "running"
            click.echo(f"{run.id}  {run.job:<10} {run.status:<9} {run.started_at:%Y-%m-%d %H:%M:%S}  {took:>9}  "
                       f"found {found:>6}  issues {run.issues:>4}  by {run.triggered_by}"
                       + (f"\n    error: {run.error}" if run.error else ""))


COLUMNS = ("id", "status", "job", "kind", "severity", "object_type", "object_guid", "fias_house_guid", "org_guid",
           "score", "summary", "last_seen_at")


@reconcile_group.command("discrepancies")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["open", "acknowledged", "resolved", "auto_resolved"]),
              help="Default: open and acknowledged.")
@click.option("--kind", "kinds", multiple=True, help="A kind such as cadastral.candidate (repeatable).")
@click.option("--job", type=click.Choice(sorted(JOBS)))
@click.option("--org", help="The organisation responsible (GUID).")
@click.option("--house", help="The house's FIAS GUID.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=200, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_obj
def reconcile_discrepancies(obj: Any, statuses: tuple[str, ...], kinds: tuple[str, ...], job: str | None,
                            org: str | None, house: str | None, limit: int, fmt: str) -> None:
    """The worklist, newest first."""
    from gateway.registry import reconciliation as store

    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        rows = list(store.find(connection, status=statuses or ("open", "acknowledged"), kind=kinds, job=job,
                               org=org, house=house.lower() if house else None, limit=limit))
    records = [{c: _plain(getattr(r, c)) for c in COLUMNS}
               | {"evidence": r.evidence, "suggested_fix": r.suggested_fix} for r in rows]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "evidence", "suggested_fix"])
        writer.writeheader()
        for record in records:
            writer.writerow({**record, "evidence": json.dumps(record["evidence"], ensure_ascii=False),
                             "suggested_fix": json.dumps(record["suggested_fix"], ensure_ascii=False)
                             if record["suggested_fix"] else ""})
        click.echo(out.getvalue(), nl=False)
    else:
        for r in rows:
            fix = "  [fix: apply]" if (r.suggested_fix or {}).get("action") == "set_cadastral_number" else ""
            click.echo(f"{r.id}  {r.status:<12} {r.severity:<7} {r.kind:<34} {r.summary}{fix}")
        if not rows:
            click.echo("no discrepancies match")


def _plain(value: Any) -> Any:
    from datetime import datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@reconcile_group.command("ack")
@click.argument("discrepancy_id")
@click.option("--note", help="What support is doing about it.")
@click.pass_obj
def reconcile_ack(obj: Any, discrepancy_id: str, note: str | None) -> None:
    """Acknowledge a discrepancy: support has seen it and works on it."""
    fixes.acknowledge(obj.gateway(), discrepancy_id, actor=who(), note=note)
    click.echo(f"acknowledged {discrepancy_id}")


@reconcile_group.command("resolve")
@click.argument("discrepancy_id")
@click.option("--note", required=True, help="Why it is resolved (fixed by the provider, not a discrepancy, …).")
@click.pass_obj
def reconcile_resolve(obj: Any, discrepancy_id: str, note: str) -> None:
    """Resolve a discrepancy by support's decision (it stays resolved whatever later runs see)."""
    fixes.resolve(obj.gateway(), discrepancy_id, actor=who(), note=note)
    click.echo(f"resolved {discrepancy_id}")


@reconcile_group.command("apply")
@click.argument("discrepancy_id")
@click.option("--reason", required=True, help="Why the fix is applied: recorded with the change.")
@click.pass_obj
def reconcile_apply(obj: Any, discrepancy_id: str, reason: str) -> None:
    """Apply a discrepancy's suggested fix as a versioned change recorded as an operator's action."""
    changeset = fixes.apply(obj.gateway(), discrepancy_id, actor=who(), reason=reason)
    click.echo(f"applied {discrepancy_id}: change set {changeset}")


@click.command("scheduler")
@click.pass_obj
def scheduler_command(obj: Any) -> None:
    """Run the configured reconciliation schedules until stopped (SIGTERM or Ctrl-C); on PostgreSQL also the
    monthly partitions of meter_readings (database.partitions_schedule)."""
    from gateway.sync import scheduler

    gateway = obj.gateway()
    running = scheduler.build(gateway, blocking=True, host=socket.gethostname())
    planned = scheduler.schedules(gateway)
    maintenance = scheduler.partitions_schedule(gateway)
    if not planned and not maintenance:
        raise click.ClickException("no reconciliation job has a schedule: set reconciliation.<job>_schedule")
    for name, expression in planned.items():
        click.echo(f"scheduled {name}: {expression} (UTC)")
    if maintenance:
        click.echo(f"scheduled partitions (meter_readings, {gateway.config.database.partitions_ahead} months "
                   f"ahead): {maintenance} (UTC)")
    try:
        running.start()
    except (KeyboardInterrupt, SystemExit):
        running.shutdown(wait=True)
