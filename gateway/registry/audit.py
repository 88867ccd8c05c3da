"""The audit trail of administrative actions (keys, organisations, NSI, re-queued messages, reconciliation
decisions, powers, console actions): append-only, one row per action, written in the transaction of the
action itself when there is one, so an action and its record stand or fall together.

Beside it, a bounded record of requests refused at the door (``door_refusals``): when, the peer's address, the
organisation the request claimed, the operation, the code and the body's SHA-256 and length — never the body.
``prune`` applies the retention settings (``[audit]``); the door trims its record as it writes.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select

from gateway.registry.tables import audit_log, door_refusals


def record(connection: Connection, *, action: str, outcome: str = "ok", target: str | None = None,
           actor: str | None = None, actor_kind: str = "os", detail: dict[str, Any] | None = None,
           origin: str | None = None, at: datetime | None = None) -> None:
    """Add one entry. ``actor`` defaults to the OS user running the command and ``origin`` to this host."""
    connection.execute(insert(audit_log).values(
        at=at or datetime.now(UTC), actor=actor or getpass.getuser(), actor_kind=actor_kind, action=action,
        target=target, outcome=outcome, detail=detail, origin=origin or socket.gethostname()))


def record_refusal(connection: Connection, *, at: datetime, code: str, peer: str | None, claimed_org: str | None,
                   operation: str | None, body_sha256: str | None, body_bytes: int | None) -> int:
    """Add one door refusal; returns its id (the door trims the record every so many)."""
    inserted = connection.execute(insert(door_refusals).values(
        at=at, code=code, peer=(peer or None) and peer[:64], claimed_org=(claimed_org or None) and claimed_org[:64],
        operation=(operation or None) and operation[:64], body_sha256=body_sha256, body_bytes=body_bytes))
    return int(inserted.inserted_primary_key[0])  # type: ignore[index]


def prune(connection: Connection, *, now: datetime, keep_days: int, refusals_keep_days: int,
          refusals_max_rows: int) -> tuple[int, int]:
    """Apply retention: audit entries older than ``keep_days`` (0: none removed), refusals older than
    ``refusals_keep_days`` or beyond the newest ``refusals_max_rows``. Returns (entries, refusals) removed."""
    entries = 0
    if keep_days > 0:
        entries = connection.execute(delete(audit_log).where(audit_log.c.at < now - timedelta(days=keep_days))).rowcount
    refusals = connection.execute(delete(door_refusals).where(
        door_refusals.c.at < now - timedelta(days=refusals_keep_days))).rowcount
    newest = connection.execute(select(func.max(door_refusals.c.id))).scalar()
    if newest is not None:
        refusals += connection.execute(delete(door_refusals).where(
            door_refusals.c.id <= newest - refusals_max_rows)).rowcount
    return entries, refusals


def entries(connection: Connection, *, since: datetime | None = None, action: str | None = None,
            actor: str | None = None, limit: int = 50) -> Sequence[Row[Any]]:
    """Audit entries, newest first; ``action`` matches a prefix (``keys`` is every keys.* action)."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if action:
        query = query.where((audit_log.c.action == action) | audit_log.c.action.startswith(action + "."))
    if actor:
        query = query.where(audit_log.c.actor == actor)
    return connection.execute(query).all()


def refusals(connection: Connection, *, since: datetime | None = None, code: str | None = None,
             limit: int = 50) -> Sequence[Row[Any]]:
    """Door refusals, newest first."""
    query = select(door_refusals).order_by(door_refusals.c.at.desc(), door_refusals.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(door_refusals.c.at >= since)
    if code:
        query = query.where(door_refusals.c.code == code)
    return connection.execute(query).all()
