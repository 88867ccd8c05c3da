"""Reconciliation runs and the schedule, and the audit log: support only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from gateway.console import access
from gateway.console.pages.common import cut, gateway, paging
from gateway.registry import reconciliation as store
from gateway.registry.queries import console as pages
from gateway.sync.jobs import JOBS
from gateway.sync.scheduler import schedules

blueprint = Blueprint("runs", __name__)


@blueprint.route("/runs")
@access.roles("support")
def runs() -> Any:
    planned = schedules(gateway())
    settings = gateway().config.reconciliation
    with gateway().engine.connect() as connection:
        recent = store.runs(connection, limit=50)
    jobs = [(name, job.description, planned.get(name), getattr(settings, f"{name}_source", "") if job.source_kind
             else None) for name, job in JOBS.items()]
    return render_template("runs.html", runs=recent, jobs=jobs)


@blueprint.route("/audit")
@access.roles("support")
def audit() -> Any:
    paged = paging()
    action = request.args.get("action", "").strip()[:64] or None
    with gateway().engine.connect() as connection:
        rows = pages.audit_page(connection, limit=paged.fetch, offset=paged.offset, action=action)
    shown, more = cut(rows, paged)
    return render_template("audit.html", rows=shown, more=more, paged=paged, action=action)
