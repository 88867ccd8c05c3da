"""``gateway audit …``: the audit trail of administrative actions and the record of door refusals
(``gateway.registry.audit``), and their retention (``[audit]`` settings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from gateway.cli_options import moment_option
from gateway.registry import audit


def _moment(value: datetime) -> str:
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat(timespec="seconds")


@click.group("audit")
def audit_group() -> None:
    """Who did what, when, with what outcome; requests refused at the door."""


@audit_group.command("list")
@click.option("--since", help="Only entries from this ISO moment on (UTC unless it has an offset).")
@click.option("--action", help="Only this action or family (keys, keys.revoke, messages.retry, …).")
@click.option("--actor", help="Only this OS or console user.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def audit_list(obj: Any, since: str | None, action: str | None, actor: str | None, limit: int, output: str) -> None:
    """Administrative actions, newest first."""
    moment = moment_option(since, "--since", naive_is_utc=True)
    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        found = audit.entries(connection, since=moment, action=action, actor=actor, limit=limit)
    for row in found:
        if output == "json":
            click.echo(json.dumps({"at": _moment(row.at), "actor": row.actor, "actor_kind": row.actor_kind,
                                   "action": row.action, "target": row.target, "outcome": row.outcome,
                                   "origin": row.origin, "detail": row.detail}, ensure_ascii=False))
        else:
            click.echo(f"{_moment(row.at)}  {row.actor_kind}:{row.actor:<12} {row.action:<22} {row.outcome:<8} "
                       f"{row.target or '-'}")


@audit_group.command("refusals")
@click.option("--since", help="Only refusals from this ISO moment on (UTC unless it has an offset).")
@click.option("--code", help="Only this error code (INT002002, …).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.pass_obj
def audit_refusals(obj: Any, since: str | None, code: str | None, limit: int) -> None:
    """Requests refused at the door, newest first: time, peer, claimed organisation, code, body digest."""
    moment = moment_option(since, "--since", naive_is_utc=True)
    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        found = audit.refusals(connection, since=moment, code=code, limit=limit)
    for row in found:
        digest = f"sha256={row.body_sha256[:16]}… bytes={row.body_bytes}" if row.body_sha256 else "body unread"
        click.echo(f"{_moment(row.at)}  {row.code}  peer={row.peer or '-'}  org={row.claimed_org or '-'}  "
                   f"operation={row.operation or '-'}  {digest}")


@audit_group.command("prune")
@click.pass_obj
def audit_prune(obj: Any) -> None:
    """Apply the retention settings (audit.keep_days, audit.refusals_keep_days, audit.refusals_max_rows)."""
    gateway = obj.gateway()
    settings = gateway.config.audit
    with gateway.engine.begin() as connection:
        removed, refusals = audit.prune(connection, now=datetime.now(UTC), keep_days=settings.keep_days,
                                        refusals_keep_days=settings.refusals_keep_days,
                                        refusals_max_rows=settings.refusals_max_rows)
        audit.record(connection, action="audit.prune", detail={
            "entries_removed": removed, "refusals_removed": refusals, "keep_days": settings.keep_days,
            "refusals_keep_days": settings.refusals_keep_days, "refusals_max_rows": settings.refusals_max_rows})
    click.echo(f"removed {removed} audit entr{'y' if removed == 1 else 'ies'} and {refusals} door refusal(s)")
