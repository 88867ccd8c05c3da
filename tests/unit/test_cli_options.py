"""The one reader of moment options (--as-of, --since): ISO moments, offsets, usage errors naming the option."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import click
import pytest

from gateway.cli_options import as_of_moment, moment_option


def test_a_moment_keeps_its_offset() -> None:
    assert as_of_moment("2026-03-01T00:00:00+03:00") == datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=3)))
    assert moment_option("2026-03-01T00:00:00Z", "--since", naive_is_utc=True) == datetime(2026, 3, 1, tzinfo=UTC)


def test_no_value_is_no_moment() -> None:
    assert as_of_moment(None) is None
    assert moment_option(None, "--since", naive_is_utc=True) is None


def test_a_moment_without_offset_is_utc_only_where_the_option_says_so() -> None:
    assert moment_option("2026-03-01T12:00", "--since", naive_is_utc=True) == datetime(2026, 3, 1, 12, tzinfo=UTC)
    with pytest.raises(click.BadParameter, match="UTC offset") as refused:
        as_of_moment("2026-03-01T12:00")
    assert refused.value.param_hint == "--as-of"


@pytest.mark.parametrize("option", ["--as-of", "--since"])
def test_a_value_that_is_no_moment_is_a_usage_error_naming_the_option(option: str) -> None:
    with pytest.raises(click.BadParameter) as refused:
        moment_option("yesterday", option, naive_is_utc=option == "--since")
    assert refused.value.param_hint == option
