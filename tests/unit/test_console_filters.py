"""The console's query-parameter readers: any text is either read exactly or refused with CON001007, never
guessed at nor left to fail inside a page (hypothesis over arbitrary text)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from gateway.console import filters
from gateway.errors import Code, ConsoleRefused

APP = Flask(__name__)


def _read(reader, name: str, value: str):  # type: ignore[no-untyped-def]
    with APP.test_request_context(query_string={name: value}):
        return reader(name)


@given(st.text(max_size=30))
def test_a_day_is_an_iso_date_or_refused(value: str) -> None:
    try:
        found = _read(filters.day, "as_of", value)
    except ConsoleRefused as refused:
        assert refused.code == Code.CONSOLE_FILTER_INVALID and refused.http_status == 400
        return
    assert found is None if not value.strip() else found == date.fromisoformat(value.strip())


@given(st.dates())
def test_every_real_date_is_read(day: date) -> None:
    assert _read(filters.day, "as_of", day.isoformat()) == day


@given(st.text(max_size=14))
def test_a_region_is_one_to_eleven_digits_or_refused(value: str) -> None:
    with APP.test_request_context(query_string={"region": value}):
        try:
            found = filters.regions()
        except ConsoleRefused as refused:
            assert refused.code == Code.CONSOLE_FILTER_INVALID
            return
    assert found == (() if not value.strip() else (value.strip(),))
    assert all(r.isascii() and r.isdigit() and 1 <= len(r) <= 11 for r in found)


@given(st.one_of(st.uuids().map(str), st.text(max_size=40)))
def test_a_guid_is_normalised_or_refused(value: str) -> None:
    try:
        found = _read(filters.guid, "org", value)
    except ConsoleRefused as refused:
        assert refused.code == Code.CONSOLE_FILTER_INVALID
        return
    assert found is None if not value.strip() else found == str(UUID(value.strip()))


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00", "tomorrow", "2026-02-30"])
def test_a_moment_needs_a_real_date_and_an_offset(value: str) -> None:
    with pytest.raises(ConsoleRefused):
        _read(filters.moment, "as_of", value)


def test_a_moment_with_an_offset_or_a_day_is_read() -> None:
    assert _read(filters.moment, "as_of", "2026-01-01T00:00:00+03:00").utcoffset() is not None
    assert _read(filters.moment, "as_of", "2026-01-01").date() == date(2026, 1, 1)
