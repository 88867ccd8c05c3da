"""Reading a page's query parameters: a malformed value is refused with CON001007, never guessed at."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from uuid import UUID

from flask import request

from gateway.errors import Code, ConsoleRefused
from gateway.reports.rules import MOSCOW

OKTMO_PREFIX = re.compile(r"[0-9]{1,11}")


def refused(what: str) -> ConsoleRefused:
    return ConsoleRefused(what, code=Code.CONSOLE_FILTER_INVALID, http_status=400)


def day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refused(f"{name}={value!r} is not a date (YYYY-MM-DD)") from None


def moment(name: str) -> datetime | None:
    """A date (the end of that day, Moscow time) or an ISO moment with its offset."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if len(value) == 10:
        found = day(name)
        assert found is not None
        return datetime.combine(found, time(23, 59, 59), tzinfo=MOSCOW)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise refused(f"{name}={value!r} is not a date or a moment (YYYY-MM-DD or ISO 8601 with offset)") from None
    if parsed.tzinfo is None:
        raise refused(f"{name}={value!r} needs a UTC offset")
    return parsed


def regions(name: str = "region") -> tuple[str, ...]:
    found = tuple(v.strip() for v in request.args.getlist(name) if v.strip())
    for value in found:
        if not OKTMO_PREFIX.fullmatch(value):
            raise refused(f"{name}={value!r}: an OKTMO prefix is 1 to 11 digits")
    return found


def guid(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    return guid_value(value, name)


def guid_value(value: str, name: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise refused(f"{name}={value!r} is not a GUID") from None


def choice(name: str, allowed: tuple[str, ...] | frozenset[str]) -> str | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise refused(f"{name}={value!r}: choose one of {', '.join(sorted(allowed))}")
    return value


def page() -> int:
    value = request.args.get("page", "1").strip() or "1"
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise refused(f"page={value!r} is not a page number")
    return int(value)
