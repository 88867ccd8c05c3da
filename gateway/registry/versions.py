"""The registry's history: the only writer and the only reader of versions.

Two times are kept apart (README, "Versions and as-of reads"):

- the **business period** a fact speaks of — a contract's start and end, a reading's date, a meeting's days —
  is ordinary data in the object's own columns, written by the services;
- the **recorded time** is when the registry learnt a version: the moment the change set that wrote it was
  committed. "As of D" means what the registry knew at D. A report run today for 1 March gives exactly what a
  report run on 1 March gave, whatever was corrected, back-dated or terminated since.

The model is SQL:2011 system-versioned (transaction-time) tables. Every versioned table ``T`` has a
``T_history`` with all of its columns plus ``[recorded_from, recorded_to)``: a write to ``T`` is followed by
``capture``, which closes the open history rows of the objects written and copies their new current rows in,
server-side (INSERT … SELECT), so history never drifts from the current state. ``meter_readings`` and
``owner_decisions`` are append-only and are their own history (kept and superseded rows); their writers take
the recorded time and change set from here.

Each unit of work that writes gets one **change set** (``changesets``): its provenance (a message, a
reconciliation run, an operator with a reason), ``started_at`` — stamped on its rows as ``recorded_from`` —
and ``committed_at``, set under a lock immediately before COMMIT. A change set may commit a little after it
started; an as-of read for D therefore leaves out the change sets that started before D but committed after
it (``AsOf.excluded``, a handful at most: those in flight at D), which makes as-of reads exact without
rewriting any row at commit. Readers pass a barrier first (the same lock, shared), so a read as of "now"
never misses a change set that was committing at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Table,
    and_,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    update,
)

from gateway.domain.provenance import Provenance
from gateway.registry.sql import among, insert_rows
from gateway.registry.tables import HISTORY, HISTORY_OF, SERIAL, TS, changesets

#: pg advisory lock key for "a change set is committing" ("dgcommit" as a 63-bit integer)
COMMIT_LOCK = int.from_bytes(b"dgcommit", "big") >> 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


class History:
    """The writer, bound to one unit of work. ``provenance`` is required once anything is written."""

    def __init__(self, connection: Connection, provenance: Provenance | None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.connection = connection
        self.provenance = provenance
        self.clock = clock
        self._open: tuple[int, datetime] | None = None
        self._values: dict[str, Any] = {}

    # -- the change set ----------------------------------------------------------------------------------
    def changeset(self) -> tuple[int, datetime]:
        """This transaction's change set (id, recorded_from), made on first use."""
        if self._open is None:
            if self.provenance is None:
                raise RuntimeError("a unit of work that writes the registry must name its provenance")
            p = self.provenance
            values: dict[str, Any] = {
                "kind": p.kind.value, "org_guid": str(p.org) if p.org else None,
                "message_guid": str(p.message) if p.message else None, "run_id": p.run, "actor": p.actor,
                "role": p.role, "reason": p.reason, "signed_by": str(p.signed_by) if p.signed_by else None,
                "power_guid": str(p.power) if p.power else None}
            if self.connection.dialect.name == "postgresql":
                values["started_at"] = text("now()")  # the database's clock, the transaction's start
            else:
                values["started_at"] = self.clock()
            row = self.connection.execute(insert(changesets).values(**values).returning(
                changesets.c.id, changesets.c.started_at)).one()
            self._open = (int(row.id), row.started_at)
            self._values = {k: v for k, v in values.items() if k != "started_at"}
        return self._open

    @property
    def changeset_id(self) -> int:
        return self.changeset()[0]

    @property
    def recorded_from(self) -> datetime:
        return self.changeset()[1]

    def stamp(self) -> None:
        """Right before COMMIT: the change set's commit time, under the commit lock (held until COMMIT)."""
        if self._open is None:
            return
        cid, started = self._open
        c = changesets.c
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMMIT_LOCK})
            stamped = self.connection.execute(update(changesets).where(c.id == cid).values(
                committed_at=text("clock_timestamp()")))
        else:  # SQLite: the writer holds the database's write lock from BEGIN IMMEDIATE to COMMIT
            stamped = self.connection.execute(update(changesets).where(c.id == cid).values(
                committed_at=max(self.clock(), started)))
        if stamped.rowcount != 1:
            # made inside a savepoint that rolled back while later writes of this transaction name it: again
            now = text("clock_timestamp()") if self.connection.dialect.name == "postgresql" \
                else max(self.clock(), started)
            self.connection.execute(insert(changesets).values(id=cid, started_at=started, committed_at=now,
                                                              **self._values))

    def committed(self) -> None:
        """After COMMIT (or ROLLBACK): the next write starts a new change set."""
        self._open = None

    # -- writing versions --------------------------------------------------------------------------------
    def capture(self, table: Table, key: str, values: Sequence[Any], *, new: bool = False) -> None:
        """The current rows of ``table`` whose ``key`` is in ``values`` were just written: they become the open
        version of their objects (the previous open versions, unless ``new``, end now). Two statements."""
        if not values:
            return
        cid, at = self.changeset()
        history = HISTORY[table.name]
        if not new:
            self._close(history, key, values, cid, at)
        names = [column.name for column in table.columns]
        source = select(*(table.c[n] for n in names), literal(at, TS), literal(cid, SERIAL)).where(
            among(self.connection, table.c[key], list(values)))
        self.connection.execute(insert(history).from_select([*names, "recorded_from", "changeset_id"], source))

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` into ``table`` as new current rows, each the first open version of its object
        (``insert_rows`` then ``capture(new=True)``). PostgreSQL: one statement for both."""
        if not rows:
            return
        cid, at = self.changeset()
        if not insert_rows(self.connection, table, rows,
                           copy_to=(HISTORY[table.name], {"recorded_from": at, "changeset_id": cid})):
            key = HISTORY_OF[table.name][0]
            self.capture(table, key, sorted({row[key] for row in rows}), new=True)

    def close(self, table: Table, key: str, values: Sequence[Any]) -> None:
        """The current rows of ``table`` with ``key`` in ``values`` are about to be deleted: their versions end."""
        if values:
            cid, at = self.changeset()
            self._close(HISTORY[table.name], key, values, cid, at)

    def _close(self, history: Table, key: str, values: Sequence[Any], cid: int, at: datetime) -> None:
        h = history.c
        self.connection.execute(update(history).where(
            among(self.connection, h[key], list(values)), h.recorded_to.is_(None)).values(
            recorded_to=at, superseded_in=cid))


# -- reading versions ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AsOf:
    """A moment to read the registry at, with the change sets that were in flight then (started before it,
    committed after it): their rows carry a recorded_from before the moment but were not yet known."""

    at: datetime
    excluded: tuple[int, ...] = ()


def barrier(connection: Connection) -> None:
    """Wait until no change set is committing (PostgreSQL: the commit lock, shared, taken and released).

    After it, every change set stamped before this moment is committed and visible; any later one will carry a
    later committed_at. On SQLite a reader's BEGIN IMMEDIATE already waits for the writer.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock_shared(:key)"), {"key": COMMIT_LOCK})
        connection.execute(text("SELECT pg_advisory_unlock_shared(:key)"), {"key": COMMIT_LOCK})


def as_of(connection: Connection, at: datetime) -> AsOf:
    """The moment ``at`` (timezone-aware), ready for ``view``: the barrier passed, in-flight change sets found."""
    if at.tzinfo is None:
        raise ValueError("an as-of moment needs a time zone (the registry keeps UTC)")
    barrier(connection)
    c = changesets.c
    excluded = connection.execute(select(c.id).where(c.started_at <= at, or_(
        c.committed_at > at, c.committed_at.is_(None))).order_by(c.id)).scalars().all()
    return AsOf(at, tuple(int(i) for i in excluded))


def _known(recorded_from: Any, recorded_to: Any, opened_in: Any, closed_in: Any,
           moment: AsOf) -> ColumnElement[bool]:
    """A version known at the moment: recorded by then in a change set committed by then, and not yet closed
    by a change set committed by then."""
    at, excluded = moment.at, list(moment.excluded)
    still_open = or_(recorded_to.is_(None), recorded_to > at)
    if not excluded:
        return and_(recorded_from <= at, still_open)
    return and_(recorded_from <= at, not_(opened_in.in_(excluded)),
                or_(still_open, closed_in.in_(excluded)))


def view(table: Table, moment: AsOf | None) -> FromClause:
    """``table``'s rows as the registry held them at ``moment`` — the current table itself for None — with the
    current table's column names, so one query serves the present and any past moment."""
    if moment is None:
        return table
    history = HISTORY[table.name]
    h = history.c
    return select(*(h[c.name] for c in table.columns)).where(
        _known(h.recorded_from, h.recorded_to, h.changeset_id, h.superseded_in, moment)).subquery(table.name)


def kept(table: Table, moment: AsOf | None) -> ColumnElement[bool]:
    """For the append-only tables that are their own history (``meter_readings``, ``owner_decisions``): the
    rows kept at ``moment`` (now: the rows not superseded)."""
    t = table.c
    if moment is None:
        return t.superseded_at.is_(None)
    return _known(t.recorded_at, t.superseded_at, t.changeset_id, t.superseded_in, moment)


@dataclass(frozen=True, slots=True)
class Version:
    """One version of one object, as ``gateway registry history`` lists it."""

    kind: str
    object_guid: str
    version_guid: str | None
    recorded_from: datetime
    recorded_to: datetime | None
    changeset: int
    closed_in: int | None
    provenance: str
    data: dict[str, Any]


def versions_of(connection: Connection, guid: str) -> list[Version]:
    """Every version of the object with this GUID, whatever its kind, oldest first (one indexed query a kind)."""
    found: list[Version] = []
    c = changesets.c
    for name, history in HISTORY.items():
        key = _OBJECT_KEY[name]
        h = history.c
        rows = connection.execute(select(history, c.kind.label("cs_kind"), c.message_guid.label("cs_message"),
                                         c.org_guid.label("cs_org"), c.run_id, c.actor, c.role, c.reason,
                                         c.signed_by.label("cs_signed_by"), c.power_guid.label("cs_power"))
                                  .join_from(history, changesets, h.changeset_id == c.id)
                                  .where(h[key] == guid, c.committed_at.is_not(None))
                                  .order_by(h.recorded_from, h.hid)).mappings().all()
        for row in rows:
            if row["recorded_to"] is not None and row["recorded_to"] <= row["recorded_from"]:
                continue  # opened and closed in the same change set: never visible
            data = {k: v for k, v in row.items() if k in table_columns(name)}
            found.append(Version(name, guid, row.get("version_guid"), row["recorded_from"], row["recorded_to"],
                                 row["changeset_id"], row["superseded_in"], _describe(row), data))
    return sorted(found, key=lambda v: v.recorded_from)


def table_columns(name: str) -> frozenset[str]:
    return _COLUMNS[name]


#: the column that names the object a history row belongs to (for child rows: their parent object)
_OBJECT_KEY = {name: key for name, (key, _also) in HISTORY_OF.items()}
_META = {"hid", "recorded_from", "recorded_to", "changeset_id", "superseded_in"}
_COLUMNS = {name: frozenset(c.name for c in history.columns if c.name not in _META)
            for name, history in HISTORY.items()}


def _describe(row: Any) -> str:
    kind = row["cs_kind"]
    if kind == "message":
        under = f", signed by {row['cs_signed_by']} under power {row['cs_power']}" if row["cs_power"] else ""
        return f"message {row['cs_message']} from {row['cs_org']}{under}"
    if kind == "reconciliation":
        return f"reconciliation run {row['run_id']}" + (f": {row['reason']}" if row["reason"] else "")
    if kind == "operator":
        return f"operator {row['actor']} ({row['role']}): {row['reason']}"
    return f"migration: {row['reason'] or 'history rebuilt'}"


def was_known(version: Version, moment: AsOf) -> bool:
    """Whether ``version`` (from ``versions_of``) was the one the registry held at ``moment``."""
    if version.changeset in moment.excluded:
        return False
    open_then = version.recorded_to is None or version.recorded_to > moment.at or version.closed_in in moment.excluded
    return version.recorded_from <= moment.at and open_then


def recorded_by(history: Table, moment: AsOf | None) -> ColumnElement[bool]:
    """History rows the registry had recorded by ``moment`` (whether or not later versions replaced them): for
    "when did the registry first learn this" — the first of them is the evidence's recorded time."""
    h = history.c
    if moment is None:
        return h.recorded_from.is_not(None)
    known = h.recorded_from <= moment.at
    if moment.excluded:
        known = and_(known, not_(h.changeset_id.in_(list(moment.excluded))))
    return known


def readings_recorded_by(moment: AsOf | None) -> ColumnElement[bool]:
    """``meter_readings`` rows (kept or superseded) the registry had recorded by ``moment``."""
    from gateway.registry.tables import meter_readings

    r = meter_readings.c
    if moment is None:
        return r.recorded_at.is_not(None)
    known = r.recorded_at <= moment.at
    if moment.excluded:
        known = and_(known, not_(r.changeset_id.in_(list(moment.excluded))))
    return known
