"""Monthly partitions of ``meter_readings`` on PostgreSQL (migration 0018).

Readings are most of the registry: a national one receives about 1.8 billion a year. In one table every
device-keyed index (the series index, the "one kept reading a period" index) grows with everything ever stored,
and a month's readings land on random leaf pages of indexes far larger than memory — ingest slowed 1.48× from an
empty registry to 10 million stored readings (``make bench`` part size). Declarative range partitioning by
``period`` ('YYYY-MM') keeps each month's readings, and their indexes, in a table of their own: ingest writes into
the current months' small, hot partitions whatever the history holds; the latest readings of a meter are found
newest partition first (an ordered scan that stops after the first few); a report over a period reads only that
period's partitions; an old month can be detached to cheaper storage.

Layout: ``meter_readings_pYYYY_MM`` for each month of a contiguous range, and two catch-alls around it so that no
insert can fail for want of a partition — ``meter_readings_before`` (MINVALUE up to the first month: back-dated
readings older than the range) and ``meter_readings_after`` (the month after the last up to MAXVALUE). The
scheduler (``database.partitions_schedule``) and ``gateway db partitions --ensure`` create the months ahead
(``database.partitions_ahead``); a month is split off a catch-all by detaching the catch-all, creating the month,
moving the catch-all's rows of that month into it and attaching the catch-all again with its narrowed bounds, in one
transaction under a lock that two maintainers cannot both hold. The catch-alls are normally empty or nearly so,
so the lock lasts milliseconds.

PostgreSQL requires the partition key in every unique index: the primary key is (id, period) and the readings'
GUID is unique with its period. GUIDs are time-ordered UUIDs the gateway draws itself (``Guid.ordered``), unique
by construction; the registry looks a reading up by GUID only together with its period (superseding a reading of
the same period). SQLite keeps one table: the embedded default serves small registries.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, text

from gateway.registry import audit
from gateway.registry.tables import meter_readings

log = logging.getLogger("gateway.registry.partitions")

PARENT = "meter_readings"
BEFORE = f"{PARENT}_before"
AFTER = f"{PARENT}_after"
#: a fixed key for pg_advisory_xact_lock: one maintainer of the partitions at a time, on any host
_LOCK_KEY = 0x6D72_7061_7274  # "mrpart"
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_BOUND = re.compile(r"FOR VALUES FROM \((MINVALUE|'(\d{4}-\d{2})')\) TO \((MAXVALUE|'(\d{4}-\d{2})')\)")


class PartitionError(RuntimeError):
    """The partitions of ``meter_readings`` are not in the layout this module maintains."""


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    lower: str | None  # first period held ('YYYY-MM'); None: MINVALUE
    upper: str | None  # first period not held; None: MAXVALUE
    rows: int  # the planner's estimate (pg_class.reltuples; -1 before the partition was ever analysed)
    bytes: int  # heap and indexes

    @property
    def monthly(self) -> bool:
        return self.lower is not None and self.upper is not None


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift(period: str, months: int) -> str:
    """``period`` ('YYYY-MM') moved by ``months``."""
    if not _PERIOD.match(period):
        raise ValueError(f"period {period!r} is not YYYY-MM")
    index = int(period[:4]) * 12 + int(period[5:]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def name_of(period: str) -> str:
    return f"{PARENT}_p{period.replace('-', '_')}"


def partitioned(connection: Connection) -> bool:
    """Whether ``meter_readings`` is a partitioned table here (PostgreSQL after migration 0018)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(text("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:name)"),
                              {"name": PARENT}).scalar()
    return kind == "p"


def listing(connection: Connection) -> list[Partition]:
    """The partitions of ``meter_readings``, in period order (empty where the table is not partitioned)."""
    if not partitioned(connection):
        return []
    rows = connection.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, pg_total_relation_size(c.oid) "
        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:name)"),
        {"name": PARENT}).all()
    found = []
    for name, bound, tuples, size in rows:
        matched = _BOUND.search(bound or "")
        if matched is None:
            raise PartitionError(f"partition {name} of {PARENT} has bounds this gateway does not maintain: {bound}")
        found.append(Partition(name, matched.group(2), matched.group(4), int(tuples), int(size)))
    return sorted(found, key=lambda p: (p.lower is not None, p.lower or ""))


def months_ready(connection: Connection, *, today: date) -> int | None:
    """How many months after ``today``'s have a partition of their own (None: not partitioned here). At 0 the
    next month's readings will land in ``meter_readings_after``: the scheduler has not been running."""
    parts = [p for p in listing(connection) if p.monthly]
    if not parts:
        return None
    last = parts[-1].lower
    assert last is not None
    current = month_of(today)
    return max(0, (int(last[:4]) * 12 + int(last[5:])) - (int(current[:4]) * 12 + int(current[5:])))


def ensure(connection: Connection, *, through: str, since: str | None = None) -> list[str]:
    """Monthly partitions for every month up to ``through`` (and back to ``since``), split off the catch-alls;
    returns the partitions created. Idempotent; run inside the caller's transaction (PostgreSQL's DDL is
    transactional: on any error nothing changes)."""
    if not partitioned(connection):
        return []
    for period in (through, since):
        if period is not None and not _PERIOD.match(period):
            raise ValueError(f"period {period!r} is not YYYY-MM")
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    parts = listing(connection)
    monthly = [p for p in parts if p.monthly]
    before = next((p for p in parts if p.lower is None), None)
    after = next((p for p in parts if p.upper is None), None)
    if not monthly or before is None or after is None or before.name != BEFORE or after.name != AFTER \
            or before.upper != monthly[0].lower or after.lower != monthly[-1].upper \
            or any(a.upper != b.lower for a, b in zip(monthly, monthly[1:], strict=False)):
        raise PartitionError(f"{PARENT} is not partitioned as {BEFORE} + contiguous months + {AFTER}: "
                             + ", ".join(f"{p.name} [{p.lower or 'MINVALUE'}, {p.upper or 'MAXVALUE'})"
                                         for p in parts))
    created: list[str] = []
    first, end = monthly[0].lower, monthly[-1].upper
    assert first is not None and end is not None
    if through >= end:
        months = _months(end, shift(through, 1))
        _split(connection, AFTER, months, narrowed=f"FROM ('{shift(through, 1)}') TO (MAXVALUE)")
        created += [name_of(m) for m in months]
    if since is not None and since < first:
        months = _months(since, first)
        _split(connection, BEFORE, months, narrowed=f"FROM (MINVALUE) TO ('{since}')")
        created += [name_of(m) for m in months]
    if created:
        log.info("event=partitions_created table=%s partitions=%s", PARENT, ",".join(sorted(created)))
    return sorted(created)


def _months(start: str, stop: str) -> list[str]:
    months, month = [], start
    while month < stop:
        months.append(month)
        month = shift(month, 1)
    return months


def _split(connection: Connection, catch_all: str, months: list[str], *, narrowed: str) -> None:
    """Detach ``catch_all``, create ``months``, move the catch-all's rows of those months, attach it narrowed."""
    low, high = months[0], shift(months[-1], 1)
    columns = ", ".join(c.name for c in meter_readings.c)
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} DETACH PARTITION {catch_all}")
    for month in months:
        connection.exec_driver_sql(f"CREATE TABLE {name_of(month)} PARTITION OF {PARENT} "
                                   f"FOR VALUES FROM ('{month}') TO ('{shift(month, 1)}')")
    move = (f"WITH moved AS (DELETE FROM {catch_all} WHERE period >= :low AND period < :high "  # noqa: S608
            f"RETURNING {columns}) INSERT INTO {PARENT} ({columns}) SELECT {columns} FROM moved")  # constant names
    moved = connection.execute(text(move), {"low": low, "high": high}).rowcount
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} ATTACH PARTITION {catch_all} FOR VALUES {narrowed}")
    if moved:
        log.info("event=partition_rows_moved table=%s from=%s rows=%d periods=%s..%s", PARENT, catch_all, moved,
                 low, months[-1])


def maintain(engine: Engine, *, today: date, ahead: int, actor: str | None = None, actor_kind: str = "os",
             since: str | None = None) -> list[str]:
    """The months up to ``ahead`` after ``today``'s (and back to ``since``) in one transaction, audited when it
    created any (``db.partitions``); returns the partitions created."""
    through = shift(month_of(today), ahead)
    with engine.begin() as connection:
        created = ensure(connection, through=through, since=since)
        if created:
            audit.record(connection, action="db.partitions", target=PARENT, actor=actor, actor_kind=actor_kind,
                         detail={"created": created, "through": through, "since": since})
    return created
