"""Scheduled reconciliation: APScheduler with its SQLAlchemy job store in the registry database.

On PostgreSQL the scheduler also keeps the monthly partitions of ``meter_readings`` ready ahead
(``database.partitions_schedule``, ``gateway.registry.partitions``).

Each configured job (``reconciliation.<job>_schedule``, a cron expression in UTC: five fields, or six with
seconds first) is one scheduler job. Any number of schedulers may run against one registry, on any hosts:
a fire time is run once — the run is recorded under (job, fire time), unique, and the scheduler that loses the
race skips it — and a job never runs twice at a time (``job_locks``). A fire time is computed from the cron
expression itself, so every scheduler names it alike.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from gateway.bootstrap import Gateway
from gateway.errors import ConfigError
from gateway.registry import partitions
from gateway.registry.reconciliation import JobBusy
from gateway.sync.jobs import JOBS
from gateway.sync.runner import Outcome, run_job

log = logging.getLogger("gateway.sync")
JOB_PREFIX = "reconcile:"
#: the scheduler's maintenance job on PostgreSQL: monthly partitions of meter_readings created ahead
PARTITIONS_JOB = "maintain:partitions"
#: a fire time missed (the scheduler was down) is still run if it is at most this late
MISFIRE_GRACE = timedelta(hours=1)

#: the gateway the scheduled functions run against (APScheduler stores a job as "module:function" + args)
_gateway: Gateway | None = None
_host = ""


def trigger(expression: str) -> CronTrigger:
    """A cron expression: five fields (minute hour day month weekday), or six with seconds first; UTC."""
    fields = expression.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(expression, timezone=UTC)
        if len(fields) == 6:
            second, minute, hour, day, month, weekday = fields
            return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday,
                               timezone=UTC)
    except ValueError as exc:
        raise ConfigError(f"schedule {expression!r}: {exc}") from None
    raise ConfigError(f"schedule {expression!r} is not a cron expression of 5 fields (or 6 with seconds first)")


def fire_time(expression: str, now: datetime) -> datetime:
    """The latest moment at or before ``now`` the schedule fires: the same for every scheduler."""
    cron = trigger(expression)
    moment = cron.get_next_fire_time(None, now - MISFIRE_GRACE)
    latest = None
    while moment is not None and moment <= now:
        latest = moment
        moment = cron.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return latest or now.replace(microsecond=0)


def schedules(gateway: Gateway) -> dict[str, str]:
    """Job → cron expression, for the jobs given a schedule in the configuration."""
    settings = gateway.config.reconciliation
    found = {name: getattr(settings, f"{name}_schedule", "").strip() for name in JOBS}
    return {name: expression for name, expression in found.items() if expression}


def scheduled_run(name: str) -> Outcome | None:
    """What the scheduler calls: the job's run for the fire time that is due (skipped if run elsewhere)."""
    assert _gateway is not None, "the scheduler was not started by gateway.sync.scheduler"
    expression = schedules(_gateway).get(name)
    if expression is None:
        log.warning("event=reconciliation_unscheduled job=%s reason=no_schedule_configured", name)
        return None
    when = fire_time(expression, datetime.now(UTC))
    try:
        return run_job(_gateway, name, scheduled_for=when, triggered_by=f"scheduler@{_host}")
    except JobBusy as busy:
        log.info("event=reconciliation_skipped job=%s scheduled_for=%s reason=running_elsewhere detail=%s",
                 name, when.isoformat(), busy)
        return None


def maintain_partitions() -> list[str]:
    """What the scheduler calls on PostgreSQL: the months of ``database.partitions_ahead`` ready (idempotent:
    two schedulers serialise on the partitions' lock and the second finds nothing to do)."""
    assert _gateway is not None, "the scheduler was not started by gateway.sync.scheduler"
    created = partitions.maintain(_gateway.engine, today=datetime.now(UTC).date(),
                                  ahead=_gateway.config.database.partitions_ahead, actor=f"scheduler@{_host}",
                                  actor_kind="scheduler")
    log.info("event=partitions_maintained created=%d partitions=%s", len(created), ",".join(created) or "-")
    return created


def partitions_schedule(gateway: Gateway) -> str:
    """The partitions job's cron expression, or "" where there is none (SQLite, or not configured)."""
    if gateway.engine.dialect.name != "postgresql":
        return ""
    return gateway.config.database.partitions_schedule.strip()


def build(gateway: Gateway, *, blocking: bool, host: str) -> BaseScheduler:
    """A scheduler on the registry's job store, with every configured job (and no stale one)."""
    global _gateway, _host
    _gateway, _host = gateway, host
    store = SQLAlchemyJobStore(engine=gateway.engine, tablename="apscheduler_jobs")
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(jobstores={"default": store}, timezone=UTC,
                     job_defaults={"coalesce": True, "max_instances": 1,
                                   "misfire_grace_time": int(MISFIRE_GRACE.total_seconds())})
    wanted = schedules(gateway)
    for name, expression in wanted.items():
        scheduler.add_job(scheduled_run, trigger(expression), args=[name], id=f"{JOB_PREFIX}{name}",
                          name=f"reconcile {name}", replace_existing=True)
    if expression := partitions_schedule(gateway):
        scheduler.add_job(maintain_partitions, trigger(expression), id=PARTITIONS_JOB,
                          name="meter_readings partitions", replace_existing=True)
    scheduler.add_listener(_record_outcome, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return scheduler


def prune(scheduler: BaseScheduler, gateway: Gateway) -> list[str]:
    """Remove stored jobs no longer configured (after start, when the job store is loaded)."""
    wanted = {f"{JOB_PREFIX}{name}" for name in schedules(gateway)}
    if partitions_schedule(gateway):
        wanted.add(PARTITIONS_JOB)
    gone = [job.id for job in scheduler.get_jobs()
            if (job.id.startswith(JOB_PREFIX) or job.id == PARTITIONS_JOB) and job.id not in wanted]
    for job_id in gone:
        scheduler.remove_job(job_id)
    return gone


def _record_outcome(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        log.error("event=scheduled_job_failed job=%s error=%s", event.job_id, event.exception)


def run_in_scheduler(gateway: Gateway, name: str, *, timeout: float = 600) -> Outcome | None:
    """Run one job now through an in-process scheduler on the registry's job store (the demo's way: the same
    path as a schedule's, without waiting for a fire time)."""
    done = threading.Event()
    outcome: list[Any] = []

    def finished(event: JobExecutionEvent) -> None:
        if event.job_id == f"{JOB_PREFIX}{name}:now":
            outcome.append(event.exception or event.retval)
            done.set()

    scheduler = build(gateway, blocking=False, host="in-process")
    scheduler.add_listener(finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        scheduler.add_job(_run_now, args=[name], id=f"{JOB_PREFIX}{name}:now", jobstore="default",
                          replace_existing=True)
        if not done.wait(timeout):
            raise TimeoutError(f"reconciliation job {name} did not finish within {timeout} s")
    finally:
        scheduler.shutdown(wait=True)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[no-any-return]


def _run_now(name: str) -> Outcome | None:
    assert _gateway is not None
    return run_job(_gateway, name, triggered_by=f"scheduler@{_host}")

