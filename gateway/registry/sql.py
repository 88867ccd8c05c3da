"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, Table, any_, bindparam, insert, text


def among(connection: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for a batch: one array parameter (``= ANY``) on PostgreSQL, a list on SQLite.

    A message names up to 1,000 devices; as 1,000 separate parameters the statement cost PostgreSQL and the
    driver more than running it (measured: 25 ms against 18 ms for 1,000 metering devices, this machine).
    """
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def reserve_serials(connection: Connection, table: Table, count: int) -> list[int] | None:
    """On PostgreSQL, ``count`` values drawn from ``table``'s ``id`` sequence, ascending; None elsewhere.

    A batch inserted with its ids known beforehand needs no RETURNING: a multi-row INSERT…RETURNING of 1,000
    rows is one statement with 20,000 placeholders, which psycopg converts with a regular expression on every
    call (no cache for long statements): processing a 1,000-flat house took 333–375 ms with it, 227 without.
    """
    if connection.dialect.name != "postgresql":
        return None
    return list(connection.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) AS serial "
                                        "FROM generate_series(1, :n) ORDER BY serial"),
                                   {"table": table.name, "n": count}).scalars())


def insert_with_serials(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their ``id`` serials in the rows' order (PostgreSQL: drawn first, then a batched
    INSERT; SQLite: a multi-row INSERT…RETURNING in parameter order)."""
    serials = reserve_serials(connection, table, len(rows))
    if serials is None:
        return list(connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                       rows).scalars())
    connection.execute(insert(table), [{**row, "id": serial} for row, serial in zip(rows, serials, strict=True)])
    return serials
