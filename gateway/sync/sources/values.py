"""Strict readers of the scalar values in reference files: each returns the value or raises ``BadValue``.

Stricter than Python's own conversions on purpose: ``int()`` takes ``"1_000"`` and Arabic-Indic digits and
``date.fromisoformat`` takes ``"20200101"`` on Python 3.11, none of which is an ``xs:long`` or an
``xs:date``. A ``BadValue`` becomes one ``RecordIssue``; it never stops a stream.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from gateway.domain.values import CadastralNumber, InvalidValue, Oktmo


class BadValue(ValueError):
    """A value in a reference record is not what its format allows."""


_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T[0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2})?)?")
_QUARTER = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{6,7}")
_LONG_MAX = 2**63 - 1


def integer(raw: str | None, what: str) -> int:
    """An ``xs:long`` / ``xs:integer`` of at most 19 digits."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    if raw.isascii() and raw.isdigit() and len(raw) < 19:  # the common case, without a regular expression
        return int(raw)
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise BadValue(f"{what} {raw!r} is not an integer")
    number = int(text)
    if not -_LONG_MAX - 1 <= number <= _LONG_MAX:
        raise BadValue(f"{what} {raw!r} is out of range")
    return number


def optional_integer(raw: str | None, what: str) -> int | None:
    return None if raw is None else integer(raw, what)


@lru_cache(maxsize=8192)
def _calendar_date(text: str) -> date | None:
    # a reference file repeats a few thousand dates a million times: parse each once
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def iso_date(raw: str | None, what: str) -> date:
    """An ``xs:date`` (``YYYY-MM-DD``, an optional time zone ignored)."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    parsed = _calendar_date(raw.strip())
    if parsed is None:
        raise BadValue(f"{what} {raw!r} is not a calendar date (YYYY-MM-DD)")
    return parsed


def optional_date(raw: str | None, what: str) -> date | None:
    return None if raw is None else iso_date(raw, what)


def date_of_datetime(raw: str | None, what: str) -> date | None:
    """The date part of an ``xs:date`` or ``xs:dateTime`` (EGRN writes registration dates with a time)."""
    if raw is None:
        return None
    match = _DATETIME.fullmatch(raw.strip())
    if match is None:
        raise BadValue(f"{what} {raw!r} is not a date")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise BadValue(f"{what} {raw!r} is not a calendar date") from None


def flag(raw: str | None, what: str) -> bool:
    """GAR's 0/1 flags (ISACTUAL, ISACTIVE)."""
    if raw == "1":
        return True
    if raw == "0":
        return False
    raise BadValue(f"{what} {raw!r} is not 0 or 1")


def guid(raw: str | None, what: str) -> str:
    """A GUID in the 8-4-4-4-12 form, lower case (GAR writes them lower case, GIS ZhKKh in any case)."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    text = raw.strip()
    if _GUID.fullmatch(text) is None:
        raise BadValue(f"{what} {raw!r} is not a GUID (8-4-4-4-12 hexadecimal digits)")
    return text.lower()


def fias_house_guid(raw: str | None, what: str) -> str:
    return guid(raw, what)


def cadastral_number(raw: str | None, what: str) -> str:
    """A cadastral number ``RR:DD:QQQQQQQ:N`` (the domain's own rule)."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    try:
        return CadastralNumber(raw).value
    except InvalidValue as exc:
        raise BadValue(f"{what}: {exc}") from None


def quarter_number(raw: str | None, what: str) -> str:
    """A cadastral quarter ``RR:DD:QQQQQQQ``."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    text = raw.strip()
    if not _QUARTER.fullmatch(text):
        raise BadValue(f"{what} {raw!r} is not a cadastral quarter RR:DD:QQQQQQQ")
    return text


def oktmo(raw: str | None, what: str) -> str:
    """An OKTMO code, 8 or 11 digits."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    try:
        return Oktmo(raw.strip()).value
    except InvalidValue as exc:
        raise BadValue(f"{what}: {exc}") from None


def area(raw: str | None, what: str) -> Decimal:
    """An area in square metres: a finite non-negative decimal."""
    if raw is None:
        raise BadValue(f"{what} is missing")
    text = raw.strip().replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,12}(?:\.[0-9]{1,6})?", text):
        raise BadValue(f"{what} {raw!r} is not an area in square metres")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise BadValue(f"{what} {raw!r} is not a number") from None


def bounded_text(raw: str | None, what: str, limit: int) -> str | None:
    """Free text of at most ``limit`` characters (None when absent or blank)."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    if len(text) > limit:
        raise BadValue(f"{what} is longer than {limit} characters")
    return text
