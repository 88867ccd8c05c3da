"""The web console's accounts and login attempts (tables ``console_users``, ``console_login_attempts``).

Accounts are added, disabled and reset by ``gateway users`` (audited there); the console only reads them and
records login attempts, which throttling counts across every server process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from gateway.registry.tables import console_login_attempts, console_users

ROLES = ("regulator", "support", "provider")


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    guid: str
    login: str
    org_guid: str
    role: str
    password_hash: str
    created_at: datetime
    password_changed_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def _user(r: object) -> ConsoleUser:
    m = r._mapping  # type: ignore[attr-defined]
    return ConsoleUser(m["guid"], m["login"], m["org_guid"], m["role"], m["password_hash"], m["created_at"],
                       m["password_changed_at"], m["disabled_at"])


def add(connection: Connection, user: ConsoleUser) -> None:
    connection.execute(insert(console_users).values(
        guid=user.guid, login=user.login, org_guid=user.org_guid, role=user.role, password_hash=user.password_hash,
        created_at=user.created_at, password_changed_at=user.password_changed_at, disabled_at=user.disabled_at))


def by_login(connection: Connection, login: str) -> ConsoleUser | None:
    row = connection.execute(select(console_users).where(console_users.c.login == login)).first()
    return _user(row) if row else None


def get(connection: Connection, guid: str) -> ConsoleUser | None:
    row = connection.execute(select(console_users).where(console_users.c.guid == guid)).first()
    return _user(row) if row else None


def users(connection: Connection, *, org: str | None = None) -> list[ConsoleUser]:
    query = select(console_users).order_by(console_users.c.login)
    if org is not None:
        query = query.where(console_users.c.org_guid == org)
    return [_user(r) for r in connection.execute(query)]


def set_password(connection: Connection, guid: str, password_hash: str, *, at: datetime) -> None:
    """A new hash; an account reset is enabled again."""
    connection.execute(update(console_users).where(console_users.c.guid == guid).values(
        password_hash=password_hash, password_changed_at=at, disabled_at=None))


def disable(connection: Connection, guid: str, *, at: datetime) -> None:
    connection.execute(update(console_users).where(console_users.c.guid == guid, console_users.c.disabled_at.is_(None))
                       .values(disabled_at=at))


def record_attempt(connection: Connection, *, login: str, address: str, at: datetime, succeeded: bool) -> None:
    connection.execute(insert(console_login_attempts).values(login=login[:64], address=address[:64], at=at,
                                                             succeeded=succeeded))


def failures(connection: Connection, *, login: str, address: str, since: datetime) -> int:
    """Failed attempts of ``login`` from ``address`` after ``since`` and after its last success from there."""
    a = console_login_attempts.c
    last_ok = (select(func.max(a.at)).where(a.login == login, a.address == address, a.succeeded.is_(True))
               .scalar_subquery())
    query = select(func.count()).where(a.login == login, a.address == address, a.succeeded.is_(False),
                                       a.at > since, a.at > func.coalesce(last_ok, since))
    return int(connection.execute(query).scalar() or 0)
