"""Option values the ``gateway`` command groups share (one reader each, one wording of their errors)."""

from __future__ import annotations

from datetime import datetime

import click


def as_of_moment(as_of: str | None) -> datetime | None:
    """An --as-of value: an ISO moment with its UTC offset (a usage error otherwise)."""
    if as_of is None:
        return None
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    if moment.tzinfo is None:
        raise click.BadParameter("needs a UTC offset (…+03:00 or …Z)", param_hint="--as-of")
    return moment
