"""Console accounts: add, disable, reset (``gateway users``) and log in (the console), Argon2-hashed, audited.

A console user belongs to one organisation and has one role, which must fit the organisation's: ``regulator``
for a housing inspectorate, ``support`` for the operator's staff, ``provider`` for an organisation that posts
(management company, HOA, cooperative, resource supplier). Logins are throttled per login and client address
in the database, so the limit holds across server processes.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, select

from gateway.errors import Code, ConsoleRefused
from gateway.registry import audit
from gateway.registry import console as store
from gateway.registry.console import ConsoleUser
from gateway.registry.tables import organisations

#: the organisation roles each console role may belong to
ORG_ROLES = {"regulator": {"regulator"}, "support": {"operator"},
             "provider": {"management_company", "hoa", "housing_cooperative", "resource_supply"}}
LOGIN = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
#: verified against when a login is unknown, so an unknown login costs what a wrong password does
_DUMMY = _hasher.hash("dummy password never used")


def _now() -> datetime:
    return datetime.now(UTC)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConsoleRefused(f"a password needs at least {MIN_PASSWORD} characters", code=Code.CONSOLE_USER_INVALID)


def add(engine: Engine, *, login: str, org: str, role: str, password: str, actor: str, origin: str | None = None,
        actor_kind: str = "os") -> ConsoleUser:
    if not LOGIN.fullmatch(login):
        raise ConsoleRefused(f"login {login!r}: 2–64 lower-case letters, digits and . _ @ -",
                             code=Code.CONSOLE_USER_INVALID)
    if role not in ORG_ROLES:
        raise ConsoleRefused(f"role {role!r}: choose regulator, support or provider", code=Code.CONSOLE_USER_INVALID)
    _check_password(password)
    now = _now()
    with engine.begin() as connection:
        org_role = connection.execute(select(organisations.c.role).where(organisations.c.guid == org)).scalar()
        if org_role is None:
            raise ConsoleRefused(f"no organisation {org} is registered", code=Code.CONSOLE_USER_INVALID)
        if org_role not in ORG_ROLES[role]:
            raise ConsoleRefused(f"a {role} account cannot belong to organisation {org}, a {org_role}",
                                 code=Code.CONSOLE_USER_INVALID)
        if store.by_login(connection, login) is not None:
            raise ConsoleRefused(f"login {login!r} is taken", code=Code.CONSOLE_USER_INVALID)
        user = ConsoleUser(str(uuid.uuid4()), login, org, role, _hasher.hash(password), now, now, None)
        store.add(connection, user)
        audit.record(connection, action="users.add", target=login, actor=actor, actor_kind=actor_kind, origin=origin,
                     detail={"org": org, "role": role, "user": user.guid})
    return user


def _existing(engine: Engine, login: str) -> ConsoleUser:
    with engine.connect() as connection:
        user = store.by_login(connection, login)
    if user is None:
        raise ConsoleRefused(f"no console user {login!r}", code=Code.CONSOLE_USER_INVALID)
    return user


def disable(engine: Engine, *, login: str, actor: str, origin: str | None = None) -> None:
    user = _existing(engine, login)
    with engine.begin() as connection:
        store.disable(connection, user.guid, at=_now())
        audit.record(connection, action="users.disable", target=login, actor=actor, origin=origin,
                     detail={"user": user.guid, "was_active": user.active})


def reset(engine: Engine, *, login: str, password: str, actor: str, origin: str | None = None) -> None:
    """A new password (enables a disabled account); the audit entry holds no secret."""
    user = _existing(engine, login)
    _check_password(password)
    with engine.begin() as connection:
        store.set_password(connection, user.guid, _hasher.hash(password), at=_now())
        audit.record(connection, action="users.reset", target=login, actor=actor, origin=origin,
                     detail={"user": user.guid})


def log_in(engine: Engine, *, login: str, password: str, address: str, max_failures: int,
           lockout: timedelta) -> ConsoleUser:
    """The user, or ConsoleRefused: CON001002 while throttled (the password is not even checked), CON001001 for
    an unknown login, a wrong password or a disabled account alike. Every attempt is recorded and audited."""
    now = _now()
    with engine.begin() as connection:
        failed = store.failures(connection, login=login, address=address, since=now - lockout)
        throttled = failed >= max_failures
        user = None if throttled else store.by_login(connection, login)
        ok = False
        if not throttled:
            try:
                ok = bool(_hasher.verify(user.password_hash if user else _DUMMY, password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            ok = ok and user is not None and user.active
            store.record_attempt(connection, login=login, address=address, at=now, succeeded=ok)
        code = Code.CONSOLE_LOGIN_THROTTLED if throttled else Code.CONSOLE_LOGIN_FAILED
        audit.record(connection, action="console.login", target=login[:255], actor=login[:255] or "-",
                     actor_kind="console", outcome="ok" if ok else "refused", origin=address,
                     detail=None if ok else {"code": code.value, "failures": failed})
    if throttled:
        raise ConsoleRefused(f"too many failed logins from this address; try again in "
                             f"{int(lockout.total_seconds() // 60)} minutes",
                             code=Code.CONSOLE_LOGIN_THROTTLED, http_status=429)
    if not ok or user is None:
        raise ConsoleRefused("wrong login or password", code=Code.CONSOLE_LOGIN_FAILED, http_status=401)
    return user
