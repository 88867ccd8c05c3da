"""Metering devices (a version per change) and their readings (append-only, superseded rows kept)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from gateway.domain.metering import (
    Device,
    DeviceData,
    DeviceKind,
    DeviceResource,
    ReadingKind,
    StoredReading,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry import versions
from gateway.registry.sql import among, insert_rows
from gateway.registry.tables import (
    accounts,
    device_premises,
    living_rooms,
    meter_readings,
    meter_series,
    metering_devices,
    premises,
)
from gateway.registry.versions import History

#: A series of readings: device root GUID, resource code ("E" for an electricity register), kind.
SeriesKey = tuple[str, str, str]
ELECTRIC = "E"


def _resources_json(data: DeviceData) -> list[dict[str, Any]]:
    return [{"code": r.resource.code if r.resource else ELECTRIC, "guid": str(r.resource.guid) if r.resource else None,
             "name": r.resource.name if r.resource else None, "electric": r.electric,
             "base": [str(v) for v in r.base]} for r in data.resources]


_JSON_COLUMNS = ("resources", "accounts", "houses", "rooms")
#: the device columns, JSON ones as their text: a batch decodes each distinct text once (``_Decoded``)
_DEVICE_COLUMNS = [cast(c, Text).label(c.name) if c.name in _JSON_COLUMNS else c for c in metering_devices.c]


def _resources(decoded: list[dict[str, Any]]) -> tuple[DeviceResource, ...]:
    G = Guid.stored  # noqa: N806 - values the registry wrote
    return tuple(DeviceResource(NsiRef(r["code"], G(r["guid"]), r.get("name")) if r["guid"] else None,
                                bool(r["electric"]), tuple(Decimal(v) for v in r["base"])) for r in decoded)


#: how each JSON column's decoded value becomes the device's field (``rooms`` is NULL on rows written before it)
_BUILD: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "resources": _resources,
    "houses": lambda values: tuple(FiasHouseGuid.stored(h) for h in values or ()),
    "accounts": lambda values: tuple(Guid.stored(a) for a in values or ()),
    "rooms": lambda values: tuple(Guid.stored(r) for r in values or ()),
}


class _Decoded(dict[tuple[str, str | None], Any]):
    """(JSON column, its text) → the device's field, for one batch of rows: a thousand meters of a house share a
    handful of distinct ``resources`` and mostly empty lists. Decoding each again cost ~14 ms per 1,000 devices;
    building its DeviceResources, NSI references, GUIDs and Decimals again was most of the 27 ms it took to turn
    1,000 rows into devices (PostgreSQL, a house's readings: `by_roots` 51 ms, 24 without the devices). The
    values are tuples of frozen values: devices of a batch share them."""

    def __missing__(self, key: tuple[str, str | None]) -> Any:
        column, text_ = key
        value = self[key] = _BUILD[column](json.loads(text_) if text_ else None)
        return value


def _device(row: RowMapping, premises_of: tuple[Guid, ...], decoded: _Decoded) -> Device:
    G = Guid.stored  # noqa: N806 - values the registry wrote
    interval = NsiRef(row["interval_code"], G(row["interval_guid"])) if row["interval_code"] else None
    data = DeviceData(
        number=row["number"], kind=DeviceKind(row["kind"]), resources=decoded["resources", row["resources"]],
        remote=bool(row["remote"]),
        model=row["model"], stamp=row["stamp"], installed_on=row["installed_on"],
        commissioned_on=row["commissioned_on"], first_verified_on=row["first_verified_on"],
        verification_interval=interval, temperature_sensor=bool(row["temperature_sensor"]),
        pressure_sensor=bool(row["pressure_sensor"]),
        houses=decoded["houses", row["houses"]], premises=premises_of,
        accounts=decoded["accounts", row["accounts"]], rooms=decoded["rooms", row["rooms"]])
    reason = NsiRef(row["archive_reason_code"], G(row["archive_reason_guid"])) if row["archive_reason_code"] \
        else None
    return Device(
        root_guid=G(row["root_guid"]), version_guid=G(row["version_guid"]),
        version_number=row["version_number"], house_guid=G(row["house_guid"]),
        fias_house_guid=FiasHouseGuid.stored(row["fias_house_guid"]), data=data, posted_by=G(row["posted_by"]),
        updated_at=row["updated_at"], gis_number=row["gis_number"] or "",
        next_verification_on=row["next_verification_on"], archived_on=row["archived_on"], archive_reason=reason,
        replaced_by=G(row["replaced_by"]) if row["replaced_by"] else None)


def gis_device_number(serial: int) -> str:
    """MeteringDeviceGISGKHNumber: the registry's own number for the device, stable for its life."""
    return f"ПУ-{serial:012d}"


@dataclass(frozen=True, slots=True)
class NewReading:
    """A reading the service accepted, ready to write; ``supersedes`` is the kept row it replaces."""

    guid: Guid
    key: SeriesKey
    period: str
    on: date
    values: tuple[Decimal, ...]
    flags: tuple[str, ...]
    transport_guid: Guid
    supersedes: Guid | None


class MeteringRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history
        #: the first periods of series ``recent`` read in this unit of work (PostgreSQL): a later save of those
        #: series' readings writes ``meter_series`` only if it moves one's start back. Filled only from what was
        #: read, never from what this unit of work writes: a write inside a savepoint that rolls back cannot
        #: leave a start here that the database does not have (a start read stays an upper bound: other
        #: writers only move starts back)
        self._first: dict[SeriesKey, str] = {}

    # devices --------------------------------------------------------------------------------------------

    def premises_houses(self, guids: Iterable[Guid]) -> dict[Guid, Guid]:
        """premises GUID → its house GUID, for the premises the registry holds."""
        wanted = sorted({str(g) for g in guids})
        if not wanted:
            return {}
        rows = self.connection.execute(select(premises.c.guid, premises.c.house_guid)
                                       .where(premises.c.guid.in_(wanted)))
        return {Guid(r.guid): Guid(r.house_guid) for r in rows}

    def rooms_houses(self, guids: Iterable[Guid]) -> dict[Guid, Guid]:
        """living room GUID → its house GUID, for the rooms the registry holds."""
        wanted = sorted({str(g) for g in guids})
        if not wanted:
            return {}
        rows = self.connection.execute(select(living_rooms.c.guid, living_rooms.c.house_guid)
                                       .where(living_rooms.c.guid.in_(wanted)))
        return {Guid(r.guid): Guid(r.house_guid) for r in rows}

    def account_holders(self, guids: Iterable[Guid]) -> dict[Guid, Guid]:
        wanted = sorted({str(g) for g in guids})
        if not wanted:
            return {}
        rows = self.connection.execute(select(accounts.c.guid, accounts.c.posted_by, accounts.c.closed_on)
                                       .where(accounts.c.guid.in_(wanted)))
        return {Guid(r.guid): Guid(r.posted_by) for r in rows}

    def active_numbers(self, house_guid: Guid) -> set[tuple[str, str]]:
        """(device number, resource code) of the house's devices in service: a number measures a resource once."""
        d = metering_devices.c
        rows = self.connection.execute(select(d.number, d.resources).where(d.house_guid == str(house_guid),
                                                                           d.archived_on.is_(None)))
        return {(r.number, res["code"]) for r in rows for res in r.resources}

    def create(self, data: DeviceData, *, house_guid: Guid, fias: FiasHouseGuid, next_verification_on: date | None,
               org: Guid, at: datetime) -> Device:
        # the root time-ordered: the readings' indexes lead with it, so one house's meters (registered together,
        # read together at month end) share their pages. Random roots put each of a month's 1,000 readings on a
        # page of its own in indexes as large as the registry: SQLite at 1,000,000 stored readings processed a
        # 1,000-reading message in 1.42x the time of an empty registry, 1.11-1.14x with these (benchmarks size)
        root, version = Guid.ordered(), Guid.new()
        interval = data.verification_interval
        columns = {
            "house_guid": str(house_guid), "fias_house_guid": str(fias), "posted_by": str(org),
            "kind": data.kind.value, "number": data.number, "model": data.model, "stamp": data.stamp,
            "installed_on": data.installed_on, "commissioned_on": data.commissioned_on,
            "first_verified_on": data.first_verified_on, "interval_code": interval.code if interval else None,
            "interval_guid": str(interval.guid) if interval else None, "next_verification_on": next_verification_on,
            "remote": data.remote, "temperature_sensor": data.temperature_sensor,
            "pressure_sensor": data.pressure_sensor, "resources": _resources_json(data),
            "accounts": [str(a) for a in data.accounts], "houses": [str(h) for h in data.houses],
            "rooms": [str(r) for r in data.rooms],
        }
        serial = self.connection.execute(insert(metering_devices).values(
            root_guid=str(root), version_guid=str(version), version_number=1, created_at=at, updated_at=at,
            **columns)).inserted_primary_key
        assert serial is not None
        self.connection.execute(update(metering_devices).where(metering_devices.c.id == serial[0])
                                .values(gis_number=gis_device_number(serial[0])))
        if data.premises:
            self.connection.execute(insert(device_premises), [
                {"device_root_guid": str(root), "premises_guid": str(p)} for p in dict.fromkeys(data.premises)])
            self._history.capture(device_premises, "device_root_guid", [str(root)], new=True)
        self._history.capture(metering_devices, "root_guid", [str(root)], new=True)
        found = self.by_roots([root])
        return found[root]

    def archive(self, device: Device, *, reason: NsiRef | None, on: date, replaced_by: Guid | None,
                at: datetime) -> Device:
        version = Guid.new()
        self.connection.execute(update(metering_devices).where(metering_devices.c.root_guid == str(device.root_guid))
                                .values(version_guid=str(version), version_number=device.version_number + 1,
                                        archived_on=on, archive_reason_code=reason.code if reason else None,
                                        archive_reason_guid=str(reason.guid) if reason else None,
                                        replaced_by=str(replaced_by) if replaced_by else None, updated_at=at))
        self._history.capture(metering_devices, "root_guid", [str(device.root_guid)])
        return self.by_roots([device.root_guid])[device.root_guid]

    def verified(self, device: Device, *, sealed_on: date, next_on: date | None, at: datetime) -> Device:
        """A verification: the seal date, and the next verification one interval later; a new version."""
        version = Guid.new()
        self.connection.execute(update(metering_devices).where(metering_devices.c.root_guid == str(device.root_guid))
                                .values(version_guid=str(version), version_number=device.version_number + 1,
                                        verified_on=sealed_on, next_verification_on=next_on, updated_at=at))
        self._history.capture(metering_devices, "root_guid", [str(device.root_guid)])
        return self.by_roots([device.root_guid])[device.root_guid]

    def by_roots(self, roots: Iterable[Guid], *, linked: bool = True) -> dict[Guid, Device]:
        """Devices by root GUID; ``linked=False`` leaves out the premises they serve (readings need none)."""
        return self._devices(metering_devices.c.root_guid, roots, linked)

    def by_versions(self, versions: Iterable[Guid], *, linked: bool = True) -> dict[Guid, Device]:
        """Devices by their current version GUID (MeteringDeviceVersionGUID)."""
        found = self._devices(metering_devices.c.version_guid, versions, linked)
        return {device.version_guid: device for device in found.values()}

    def in_house(self, fias: FiasHouseGuid, *, archived: bool | None = None) -> list[Device]:
        """A house's devices in registration order: all of them, or only the archived (True) or the others."""
        d = metering_devices.c
        only = None if archived is None else d.archived_on.is_not(None) if archived else d.archived_on.is_(None)
        return list(self._devices(d.fias_house_guid, [fias], only=only).values())

    def _devices(self, column: Any, guids: Iterable[Guid | FiasHouseGuid], linked: bool = True,
                 only: ColumnElement[bool] | None = None) -> dict[Guid, Device]:
        wanted = sorted({str(g) for g in guids})
        if not wanted:
            return {}
        query = select(*_DEVICE_COLUMNS).where(among(self.connection, column, wanted))
        if only is not None:
            query = query.where(only)
        rows = self.connection.execute(query.order_by(metering_devices.c.id)).mappings().all()
        served: dict[str, list[Guid]] = {r["root_guid"]: [] for r in rows}
        if rows and linked:
            for r in self.connection.execute(select(device_premises).where(
                    among(self.connection, device_premises.c.device_root_guid, list(served)))):
                served[r.device_root_guid].append(Guid.stored(r.premises_guid))
        decoded = _Decoded()
        return {Guid.stored(r["root_guid"]): _device(r, tuple(served[r["root_guid"]]), decoded) for r in rows}

    # readings -------------------------------------------------------------------------------------------

    def recent(self, keys: Iterable[SeriesKey], depth: int, *,
               since: Mapping[SeriesKey, str] | None = None) -> dict[SeriesKey, list[StoredReading]]:
        """The kept readings of each series' ``depth`` latest periods (one kept reading a period), oldest first,
        in one query for the batch.

        Each series is read backwards along ``uq_meter_readings_kept`` (device, resource, kind, period; kept rows
        only) and stopped after ``depth`` rows, so the cost is the batch's size times ``depth`` whatever the
        meters' history: a LATERAL join over the batch's keys (passed as arrays) on PostgreSQL, a correlated
        ``LIMIT`` per key on SQLite. On PostgreSQL's monthly partitions the order by period is the partitions'
        own: the scan visits them newest first and stops once it has ``depth`` rows (an ordered Append), so the
        months stored cost nothing either — except for a series with fewer than ``depth`` readings, whose scan
        would visit every partition (54 ms for 1,000 new meters over 111 partitions, measured). So each series
        is read back to the first period ``meter_series`` keeps for it, and a series absent there (no kept
        reading) is not read at all; ``since`` (its device's commissioning month: readings dated earlier are
        refused) bounds it too. The partitions before the bound are pruned at run time.
        Ranking every kept reading of the batch's meters with ``row_number()`` instead made a 1,000-reading
        message 2× slower at 100 kept readings per meter and 7.5× at 1,000 (measured: ``make bench`` part
        history).
        """
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        r = meter_readings.c
        columns = (r.guid, r.device_root_guid, r.resource_code, r.kind, r.period, r.reading_date, r.v1, r.v2, r.v3,
                   r.flags)
        if self.connection.dialect.name == "postgresql":
            bounds = since or {}
            arrays = [[k[i] for k in wanted] for i in range(3)] + [[bounds.get(k, "") for k in wanted]]
            keyed = func.unnest(*(bindparam(None, a, type_=ARRAY(Text)) for a in arrays)) \
                .table_valued("root", "resource", "kind", "since").render_derived(name="k")
            # only series with kept readings, each back to its first period (``meter_series``): a series with
            # none is not looked for, one with a few is not looked for back to its device's start
            s = meter_series.c
            spans = select(keyed.c.root, keyed.c.resource, keyed.c.kind, s.first_period.label("first"),
                           func.greatest(keyed.c.since, s.first_period).label("low")).select_from(keyed).join(
                               meter_series, and_(s.device_root_guid == keyed.c.root,
                                                  s.resource_code == keyed.c.resource, s.kind == keyed.c.kind)
                           ).subquery("s")
            # the batch's earliest bound as a parameter too: the partitions before it are left out once per
            # statement, not pruned again on each of the thousand rescans (24 → 16 ms, measured)
            low = min((bounds.get(k, "") for k in wanted), default="")
            lateral = select(*columns).where(
                r.device_root_guid == spans.c.root, r.resource_code == spans.c.resource, r.kind == spans.c.kind,
                r.period >= spans.c.low, r.period >= bindparam(None, low, type_=Text),
                r.superseded_at.is_(None)).order_by(r.period.desc()).limit(depth).lateral("latest")
            statement = select(*lateral.c, spans.c.first).select_from(spans).join(lateral, true())
        else:
            # the keys as one JSON parameter: a VALUES list of 1,000 rows is compiled anew on every call (its
            # rows are not cacheable), which cost more than running the query (measured: ~80 of ~90 ms)
            x = meter_readings.alias("x")
            pairs = func.json_each(bindparam(None, json.dumps(wanted), type_=Text)).table_valued("value").alias("j")
            listed = select(*(func.json_extract(pairs.c.value, f"$[{i}]").label(name)
                              for i, name in enumerate(("root", "resource", "kind")))).cte("k")
            ids = select(x.c.id).where(
                x.c.device_root_guid == listed.c.root, x.c.resource_code == listed.c.resource,
                x.c.kind == listed.c.kind, x.c.superseded_at.is_(None)).order_by(x.c.period.desc()) \
                .limit(depth).correlate(listed).scalar_subquery()
            statement = select(*columns, null().label("first")).select_from(listed).join(
                meter_readings, r.id.in_(ids))
        rows = self.connection.execute(statement)
        found: dict[SeriesKey, list[StoredReading]] = {k: [] for k in wanted}
        kinds = {k.value: k for k in ReadingKind}
        # plain tuples, not mappings: up to 3,000 rows a message, each read once; the Numeric columns come
        # back as Decimal on both databases (SQLAlchemy's Numeric), so the values are taken as they are
        for guid, root, resource, kind, period, on, v1, v2, v3, flags, first in rows:
            series = found.get((root, resource, kind))
            if first is not None:
                self._first[(root, resource, kind)] = first
            if series is not None:
                series.append(StoredReading(
                    Guid.stored(guid), on, period,
                    (v1,) if v2 is None else (v1, v2) if v3 is None else (v1, v2, v3),
                    tuple(f for f in flags.split(",") if f) if flags else (), kinds[kind], resource))
        for series in found.values():
            series.sort(key=lambda s: (s.period, s.on))
        return found

    def series(self, key: SeriesKey) -> list[StoredReading]:
        """Every kept reading of one series, oldest first (for a back-dated reading)."""
        r = meter_readings.c
        rows = self.connection.execute(select(meter_readings).where(
            r.device_root_guid == key[0], r.resource_code == key[1], r.kind == key[2], r.superseded_at.is_(None))
            .order_by(r.reading_date)).mappings()
        return [_reading(row) for row in rows]

    def save_readings(self, items: list[NewReading], *, org: Guid, message: Guid) -> None:
        """Supersede the replaced rows, then insert the new ones: two statements whatever the batch size.

        ``meter_readings`` is its own history (kept and superseded rows): the recorded time and the change set
        come from the unit of work's ``History``, like every other version's.
        """
        if not items:
            return
        changeset, at = self._history.changeset()
        # the reading superseded is the kept one of the same period: with the period, PostgreSQL looks in that
        # month's partition only
        replaced = [{"b_old": str(i.supersedes), "b_new": str(i.guid), "b_period": i.period}
                    for i in items if i.supersedes]
        if replaced:
            r = meter_readings.c
            self.connection.execute(update(meter_readings).where(and_(r.guid == bindparam("b_old"),
                                                                      r.period == bindparam("b_period"),
                                                                      r.superseded_at.is_(None)))
                                    .values(superseded_at=at, superseded_by=bindparam("b_new"),
                                            superseded_in=changeset), replaced)
        insert_rows(self.connection, meter_readings, [
            {"guid": str(i.guid), "device_root_guid": i.key[0], "resource_code": i.key[1], "kind": i.key[2],
             "period": i.period, "reading_date": i.on, "v1": i.values[0],
             "v2": i.values[1] if len(i.values) > 1 else None, "v3": i.values[2] if len(i.values) > 2 else None,
             "flags": ",".join(i.flags), "posted_by": str(org), "message_guid": str(message),
             "transport_guid": str(i.transport_guid), "recorded_at": at, "changeset_id": changeset} for i in items])
        self._widen_series(items)

    def _widen_series(self, items: list[NewReading]) -> None:
        """Each series' first period (``meter_series``) takes in the periods just kept: a new series is added,
        one with a back-dated reading moved back. On PostgreSQL a month's readings of series ``recent`` read in
        this unit of work, later than their start, write nothing. The series in key order: two writers of
        overlapping batches lock them in the same order."""
        first: dict[SeriesKey, str] = {}
        for i in items:
            first[i.key] = min(first.get(i.key, i.period), i.period)
        # a series whose start this unit of work read, and which the batch does not move back, is left alone
        # (a concurrent writer can only move a start back, so what was read stays an upper bound of it)
        ordered = sorted((key, period) for key, period in first.items()
                         if key not in self._first or period < self._first[key])
        if not ordered:
            return
        s = meter_series.c
        key = [s.device_root_guid, s.resource_code, s.kind]
        # one upsert, which moves a start only back: a concurrent writer's row (inserted or moved meanwhile) is
        # waited for and compared, so two writers of one new series keep the earlier start whatever their order
        if self.connection.dialect.name == "postgresql":
            arrays = [bindparam(None, [k[n] for k, _ in ordered], type_=ARRAY(Text)) for n in range(3)] + [
                bindparam(None, [period for _, period in ordered], type_=ARRAY(Text))]
            source = func.unnest(*arrays).table_valued("root", "resource", "kind", "low").render_derived(name="n")
            upsert = postgresql.insert(meter_series).from_select(
                ["device_root_guid", "resource_code", "kind", "first_period"], select(*source.c))
            self.connection.execute(upsert.on_conflict_do_update(
                index_elements=key, set_={"first_period": upsert.excluded.first_period},
                where=upsert.excluded.first_period < s.first_period))
            return
        lite = sqlite.insert(meter_series)
        self.connection.execute(lite.on_conflict_do_update(
            index_elements=key, set_={"first_period": lite.excluded.first_period},
            where=lite.excluded.first_period < s.first_period),
            [{"device_root_guid": k[0], "resource_code": k[1], "kind": k[2], "first_period": period}
             for k, period in ordered])

    def history(self, roots: Iterable[Guid], *, as_of: datetime | None = None, entered_from: date | None = None,
                entered_to: date | None = None) -> dict[str, list[StoredReading]]:
        """Readings of the devices, oldest first: the kept ones, or those kept at ``as_of``."""
        wanted = sorted({str(g) for g in roots})
        if not wanted:
            return {}
        r = meter_readings.c
        moment = versions.as_of(self.connection, as_of) if as_of is not None else None
        query = select(meter_readings).where(r.device_root_guid.in_(wanted), versions.kept(meter_readings, moment))
        found: dict[str, list[StoredReading]] = {g: [] for g in wanted}
        for row in self.connection.execute(query.order_by(r.device_root_guid, r.reading_date, r.id)).mappings():
            entered = row["recorded_at"].date()
            if (entered_from and entered < entered_from) or (entered_to and entered > entered_to):
                continue
            found[row["device_root_guid"]].append(_reading(row))
        return found


def _reading(row: RowMapping) -> StoredReading:
    """A reading from a full row, or from the few columns ``recent`` reads (no poster, no timestamps)."""
    values = tuple(Decimal(v) for v in (row["v1"], row["v2"], row["v3"]) if v is not None)
    full = "posted_by" in row.keys()  # noqa: SIM118 - a RowMapping's own `in` raises and catches per miss
    return StoredReading(
        guid=Guid.stored(row["guid"]), on=row["reading_date"], period=row["period"], values=values,
        flags=tuple(f for f in (row["flags"] or "").split(",") if f), kind=ReadingKind(row["kind"]),
        resource_code=row["resource_code"], posted_by=Guid.stored(row["posted_by"]) if full else None,
        recorded_at=row["recorded_at"] if full else None, superseded=bool(full and row["superseded_at"]))


def rebuild_series(connection: Connection) -> int:
    """Recompute ``meter_series`` from the kept readings; returns the number of series. For readings written
    other than by ``save_readings`` (a bulk load): a series missing there is taken to have no readings."""
    r = meter_readings.c
    if connection.dialect.name == "postgresql":  # writers wait until the rebuild commits (SQLite: one writer)
        connection.execute(text("LOCK TABLE meter_series IN SHARE ROW EXCLUSIVE MODE"))
    connection.execute(meter_series.delete())
    connection.execute(insert(meter_series).from_select(
        ["device_root_guid", "resource_code", "kind", "first_period"],
        select(r.device_root_guid, r.resource_code, r.kind, func.min(r.period))
        .where(r.superseded_at.is_(None)).group_by(r.device_root_guid, r.resource_code, r.kind)))
    return int(connection.execute(select(func.count()).select_from(meter_series)).scalar() or 0)
