"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, any_, bindparam


def among(connection: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for a batch: one array parameter (``= ANY``) on PostgreSQL, a list on SQLite.

    A message names up to 1,000 devices; as 1,000 separate parameters the statement cost PostgreSQL and the
    driver more than running it (measured: 25 ms against 18 ms for 1,000 metering devices, this machine).
    """
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]
