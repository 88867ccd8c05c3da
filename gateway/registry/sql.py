"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    String,
    Table,
    Text,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
)


def among(connection: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for a batch: one array parameter (``= ANY``) on PostgreSQL, a list on SQLite.

    A message names up to 1,000 devices; as 1,000 separate parameters the statement cost PostgreSQL and the
    driver more than running it (measured: 25 ms against 18 ms for 1,000 metering devices, this machine).
    """
    if connection.dialect.name == "postgresql":
        # a string column's array is sent as text[]: typed varchar(36)[] it is cast to text[] again for every
        # row a generic (prepared) plan filters — a 1,000-element array coerced per row cost 40 ms on a
        # 1,000-device table where the scan itself takes 1 ms (measured with auto_explain)
        item = Text() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(item)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def reserve_serials(connection: Connection, table: Table, count: int) -> list[int]:
    """``count`` new values of ``table``'s ``id``, ascending, for rows the caller inserts next.

    PostgreSQL: drawn from the column's sequence (never given twice, concurrent writers included). SQLite: the
    ids after the table's highest, which is what SQLite itself would give (a rowid table without
    AUTOINCREMENT); safe because every SQLite transaction of the registry begins IMMEDIATE and holds the
    database's write lock until it ends — the rows must be inserted before the next reservation for the same
    table in the transaction.

    A batch inserted with its ids known beforehand needs no RETURNING and no UPDATE for what is derived from
    them (a unified account number, a premises' unique number): a multi-row INSERT…RETURNING of 1,000 rows is
    one statement with 20,000 placeholders, which psycopg converts with a regular expression on every call (no
    cache for long statements): processing a 1,000-flat house took 333–375 ms with it, 227 without; on SQLite
    100 accounts' INSERT…RETURNING and UPDATE of their numbers took ≈ 9 of the worker's 40 ms.
    """
    if connection.dialect.name != "postgresql":
        highest = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        return list(range(int(highest) + 1, int(highest) + 1 + count))
    return list(connection.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) AS serial "
                                        "FROM generate_series(1, :n) ORDER BY serial"),
                                   {"table": table.name, "n": count}).scalars())


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
                copy_to: tuple[Table, dict[str, Any]] | None = None) -> bool:
    """Insert ``rows`` (each with the same keys) in one statement.

    ``copy_to`` (a table and values for its further columns): on PostgreSQL, the same statement also copies
    the inserted rows, as stored (defaults applied), into that table — a writable CTE, ``WITH live AS (INSERT
    … RETURNING *) INSERT INTO copy SELECT live.*, …``: the registry writes an object's first version beside
    it without a second statement that finds the rows again (100 accounts: that SELECT filtered the table by a
    100-element array, 1–4 ms a message and growing with the table). Returns whether the copy was made: it
    is not on SQLite (no data-modifying CTE) nor for rows of differing keys; the caller then copies itself.

    PostgreSQL: ``INSERT … SELECT * FROM unnest(…)`` with one array parameter per column, so 1,000 rows are one
    statement parsed, planned and executed once; psycopg's ``executemany`` sends them as 1,000 executions
    of a prepared INSERT in a pipeline (measured, 1,000 readings on this machine: see README, Performance).
    SQLite (and rows of differing keys): ``executemany``, which on SQLite runs in C inside the sqlite3 module.
    Column defaults are applied as by ``INSERT … SELECT`` (scalar ones; the registry's tables have no callable).
    """
    if not rows:
        return False
    names = list(rows[0])
    if connection.dialect.name != "postgresql" or any(row.keys() != rows[0].keys() for row in rows):
        connection.execute(insert(table), list(rows))
        return False
    columns = {name: [row[name] for row in rows] for name in names}
    # a value every row shares (the batch's message, organisation, change set, time…) is one parameter, not
    # an array of copies: psycopg quotes each element of a text array it sends
    shared = {name for name, values in columns.items() if values.count(values[0]) == len(values)}
    varying = [name for name in names if name not in shared] or names[:1]
    target, extra = copy_to if copy_to is not None else (None, {})
    sql = _unnest_insert(connection, table, tuple(names), tuple(varying), target, tuple(extra))
    process = _processors(connection, table)
    parameters = [_bound(process, name, columns[name][0]) for name in names if name not in varying]
    parameters += [_bound(process, name, columns[name], each=True) for name in varying]
    if target is not None:
        copied = _processors(connection, target)
        parameters += [_bound(copied, name, value) for name, value in extra.items()]
    connection.exec_driver_sql(sql, tuple(parameters))
    return target is not None


# The SQL text of each shape of ``insert_rows`` (table, columns, which vary, the copy's table and columns),
# rendered once: built as SQLAlchemy constructs on every call, a 100-row statement of 15 columns cost ≈ 1 ms of
# CPU in their construction, cache key and compiled-cache lookup alone (cProfile of the accounts worker).
# Keyed by the Table objects themselves: two tables of one name (a test's probe) never share an entry.
_SQL: dict[tuple[Any, ...], str] = {}
_BIND: dict[tuple[str, Table], dict[str, Any]] = {}


def _unnest_insert(connection: Connection, table: Table, names: tuple[str, ...], varying: tuple[str, ...],
                   target: Table | None, extra: tuple[str, ...]) -> str:
    key = (table, names, varying, target, extra)
    if (sql := _SQL.get(key)) is not None:
        return sql
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote

    def typed(of: Table, name: str, suffix: str = "") -> str:
        return f"%s::{of.c[name].type.compile(dialect=dialect)}{suffix}"

    # identifiers from the declared tables (quoted), never from input; every value is a parameter
    picked = [f"r.{quote(name)}" if name in varying else f"{typed(table, name)} AS {quote(name)}" for name in names]
    arrays = ", ".join(typed(table, name, "[]") for name in varying)
    into = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, names))}) "  # noqa: S608
            f"SELECT {', '.join(picked)} FROM unnest({arrays}) AS r({', '.join(map(quote, varying))})")
    if target is None:
        sql = into
    else:
        own = [quote(column.name) for column in table.columns]
        sql = (f"WITH live AS ({into} RETURNING {', '.join(own)}) "  # noqa: S608
               f"INSERT INTO {dialect.identifier_preparer.format_table(target)} "
               f"({', '.join([*own, *map(quote, extra)])}) "
               f"SELECT {', '.join([*(f'live.{c}' for c in own), *(typed(target, n) for n in extra)])} FROM live")
    _SQL[key] = sql
    return sql


def _processors(connection: Connection, table: Table) -> dict[str, Any]:
    """The bind processor of each of ``table``'s columns that has one (UTC timestamps, booleans, JSON): what
    SQLAlchemy would apply to a value — to each element of an array — before the driver sees it."""
    key = (connection.dialect.name, table)
    if (found := _BIND.get(key)) is None:
        dialect = connection.dialect
        found = {column.name: process for column in table.columns
                 if (process := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        _BIND[key] = found
    return found


def _bound(processors: dict[str, Any], name: str, value: Any, *, each: bool = False) -> Any:
    process = processors.get(name)
    if process is None:
        return value
    return [process(v) for v in value] if each else process(value)


#: a table is re-analysed before a set-based job or report when this share of its rows changed since its last
#: ANALYZE (autovacuum's default threshold is 0.1 plus 50 rows; a server may also run with it off)
STALE = 0.2


def refresh_statistics(connection: Connection, tables: Iterable[Table], *, parents: bool = True,
                       skip_locked: bool = False) -> list[str]:
    """ANALYZE those of ``tables`` whose statistics are missing or stale (PostgreSQL; what autovacuum would have
    done, for a server where it is off or has not come round since a bulk load); returns the tables analysed.
    Without statistics the planner takes a bulk-loaded table for empty and plans nested loops: reconciliation
    took 900 s at 100,000 premises instead of 18 s, a regional compliance report 2.1 s instead of 0.35 s at
    10,000 houses, growing faster than the registry (measured, this machine). ANALYZE samples a fixed number
    of rows: well under a second a table. Run it in a transaction of its own: its lock (which two ANALYZEs of
    one table do not share) lasts until the transaction ends. ``parents=False`` leaves a partitioned table's
    parent alone (its ANALYZE samples every partition), checking only its partitions. ``skip_locked``: a table
    another transaction holds a conflicting lock on is left for next time instead of waited for (ANALYZE
    SKIP_LOCKED), so a caller with other work — a worker — never stalls behind a long lock."""
    if connection.dialect.name != "postgresql":
        return []
    names = [t.name for t in tables]
    # a partitioned table (meter_readings) keeps no modification counts of its own: its partitions are checked
    # one by one (an ANALYZE of the parent would sample and re-analyse every partition), the parent itself
    # only if it was never analysed
    partitions = [r[0] for r in connection.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relnamespace = current_schema()::regnamespace AND p.relname = ANY(:names)"), {"names": names})]
    stale = [r[0] for r in connection.execute(text(
        "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
        "WHERE s.schemaname = current_schema() AND s.relname = ANY(:names) "
        "AND (coalesce(s.last_analyze, s.last_autoanalyze) IS NULL "
        "     OR (c.relkind <> 'p' AND s.n_mod_since_analyze > :share * s.n_live_tup)) "
        "AND (:parents OR c.relkind <> 'p') "
        "ORDER BY c.relkind = 'p', s.relname"),
        {"names": names + partitions, "share": STALE, "parents": parents})]
    option = "(SKIP_LOCKED) " if skip_locked else ""
    for name in stale:
        connection.exec_driver_sql(f'ANALYZE {option}"{name}"')
    return stale
