"""Option values the ``gateway`` command groups share (one reader each, one wording of their errors)."""

from __future__ import annotations

from datetime import UTC, datetime

import click


def moment_option(value: str | None, option: str, *, naive_is_utc: bool = False) -> datetime | None:
    """An ISO moment given to ``option``: with its UTC offset, or (``naive_is_utc``) read as UTC without one;
    anything else is a usage error naming the option."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise click.BadParameter("needs a UTC offset (…+03:00 or …Z)", param_hint=option)
        moment = moment.replace(tzinfo=UTC)
    return moment


def as_of_moment(as_of: str | None) -> datetime | None:
    """An --as-of value: an ISO moment with its UTC offset (a usage error otherwise)."""
    return moment_option(as_of, "--as-of")
