"""The audit trail of administrative actions (keys, organisations, NSI, re-queued messages, reconciliation
decisions, powers, console actions): append-only, one row per action, written in the transaction of the
action itself when there is one, so an action and its record stand or fall together."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from gateway.registry.tables import audit_log


def record(connection: Connection, *, action: str, outcome: str = "ok", target: str | None = None,
           actor: str | None = None, actor_kind: str = "os", detail: dict[str, Any] | None = None,
           origin: str | None = None, at: datetime | None = None) -> None:
    """Add one entry. ``actor`` defaults to the OS user running the command and ``origin`` to this host."""
    connection.execute(insert(audit_log).values(
        at=at or datetime.now(UTC), actor=actor or getpass.getuser(), actor_kind=actor_kind, action=action,
        target=target, outcome=outcome, detail=detail, origin=origin or socket.gethostname()))
