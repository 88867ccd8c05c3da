"""Compliance's evidence: what was due and when the registry first learnt it — as the registry knew it at a moment.

Every statement reads through ``versions.view`` (the registry at the report's moment) and takes an evidence's
time from the history (the first version recorded by then: a later correction never moves it), so a report
run today for 1 March gives what one run on 1 March gave. One set-based statement per obligation (per month
for readings), streamed, ordered by organisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Integer,
    Select,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)

from gateway.registry import versions
from gateway.registry.queries.rows import OrganisationRow
from gateway.registry.sql import refresh_statistics
from gateway.registry.tables import (
    HISTORY,
    TS,
    account_accommodations,
    accounts,
    changesets,
    decrees,
    documents,
    houses,
    mandates,
    meter_readings,
    metering_devices,
    organisations,
    premises,
    votings,
)
from gateway.registry.versions import AsOf

BATCH = 5_000
MANAGEMENT = ("contract", "charter")


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Any]:
    yield from connection.execute(query.execution_options(yield_per=BATCH)).mappings()


#: PostgreSQL's memory for each sort or hash of the report's statements (the server's default of 4 MB sent a
#: year of device-months to disk: 14.5 s for 10,000 organisations' counts, 2.8 s with 64 MB, measured)
WORK_MEM = "64MB"


def _read_tables() -> list[Table]:
    """The registry tables the report reads, with their history tables (for as-of reads)."""
    from gateway.registry.tables import discrepancies

    current = [organisations, documents, mandates, houses, premises, accounts, account_accommodations,
               metering_devices, meter_readings, decrees, discrepancies, changesets]
    return current + [HISTORY[table.name] for table in current if table.name in HISTORY]


def tune(connection: Connection) -> None:
    """Settings for the report's transaction (PostgreSQL; SET LOCAL: they end with it): sorts and hashes in
    memory, and no JIT — compiling each statement's plan cost more than it saved (1–3 s a statement); before
    it, in a transaction apart, statistics for the tables it reads where they are missing or stale."""
    if connection.dialect.name == "postgresql":
        with connection.engine.begin() as apart:
            refresh_statistics(apart, _read_tables())
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        connection.exec_driver_sql("SET LOCAL jit = off")


def by_org(connection: Connection, column: Any) -> Any:
    """Order by an organisation's GUID bytewise, as Python compares strings: the evaluation merges streams by it
    (PostgreSQL's default collation may order otherwise; SQLite compares bytes)."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


def organisations_by_guid(connection: Connection, moment: AsOf | None) -> Iterator[OrganisationRow]:
    """Every organisation as the registry knew it, in GUID order (as the evaluation's streams are): the report
    looks each one up as its block comes, never holding them all."""
    o = versions.view(organisations, moment)
    for r in _stream(connection, select(o).order_by(by_org(connection, o.c.guid))):
        yield OrganisationRow(r["guid"], r["name"], r["role"], r["ogrn"], r["inn"], r["kpp"], r["created_at"])


class InOrder:
    """Look up rows of a stream ordered by GUID with keys that only ascend (each key at most once): memory holds
    one row, whatever their number."""

    def __init__(self, rows: Iterator[OrganisationRow]) -> None:
        self._rows = rows
        self._row = next(rows, None)

    def get(self, guid: str) -> OrganisationRow | None:
        while self._row is not None and self._row.guid < guid:
            self._row = next(self._rows, None)
        return self._row if self._row is not None and self._row.guid == guid else None


def _first(history: str, moment: AsOf | None, *where: Any) -> Any:
    """The first moment the registry recorded a version satisfying ``where`` (known by ``moment``)."""
    h = HISTORY[history]
    return select(func.min(h.c.recorded_from)).where(versions.recorded_by(h, moment), *where).scalar_subquery()


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that started an obligation, and when its evidence was first recorded (None: not yet)."""

    org_guid: str
    object_type: str
    object_guid: str
    fias_house_guid: str | None
    trigger: date
    recorded: datetime | None
    detail: str


def in_regions(oktmo: Any, regions: tuple[str, ...]) -> Any:
    """An OKTMO code starting with one of the prefixes."""
    return or_(*(oktmo.startswith(prefix) for prefix in regions))


def _in_region(moment: AsOf | None, fias: Any, regions: tuple[str, ...]) -> Any:
    """The house with this FIAS GUID lies in one of ``regions`` (OKTMO prefixes): a condition, or None for no
    filter."""
    if not regions:
        return None
    h = versions.view(houses, moment).alias("region_house")
    return fias.in_(select(h.c.fias_house_guid).where(in_regions(h.c.oktmo, regions)))


def _serving_in(moment: AsOf | None, org: Any, regions: tuple[str, ...]) -> Any:
    """The organisation holds a mandate over a house the registry places in one of ``regions``."""
    m, h = versions.view(mandates, moment).alias("serving_mandate"), versions.view(houses, moment).alias("serving")
    return org.in_(select(m.c.org_guid).select_from(m).join(h, h.c.fias_house_guid == m.c.fias_house_guid)
                   .where(m.c.annulled.is_(False), in_regions(h.c.oktmo, regions)))


def _house_in_region(moment: AsOf | None, fias: Any, org: Any, regions: tuple[str, ...]) -> Any:
    """A mandate's house is in ``regions`` — or was never posted (the registry cannot place it) and its
    organisation serves a house there: a regulator overseeing an organisation sees the houses it failed to post."""
    if not regions:
        return None
    h = versions.view(houses, moment).alias("known_house")
    unknown = ~fias.in_(select(h.c.fias_house_guid))
    return or_(_in_region(moment, fias, regions), and_(unknown, _serving_in(moment, org, regions)))


def contract_events(connection: Connection, moment: AsOf | None, start: date, end: date, *,
                    terminated: bool, regions: tuple[str, ...] = ()) -> Iterator[Event]:
    """Management contracts signed (or terminated) between ``start`` and ``end``, with the first recording of the
    contract (or of its termination); in ``regions``: contracts with a house there (or with no house posted, of
    an organisation serving one there)."""
    d, dh = versions.view(documents, moment), HISTORY["documents"].c
    on = d.c.terminated_on if terminated else d.c.signed_on
    state = (dh.state == "terminated",) if terminated else ()
    recorded = _first("documents", moment, dh.guid == d.c.guid, *state)
    query = (select(d.c.org_guid, d.c.guid, d.c.number, on.label("on"), recorded.label("recorded"))
             .where(d.c.kind == "contract", on >= start, on <= end)
             .order_by(by_org(connection, d.c.org_guid), on, d.c.guid))
    if terminated:
        query = query.where(d.c.state == "terminated")
    if regions:
        m = versions.view(mandates, moment).alias("region_mandate")
        query = query.where(d.c.guid.in_(select(m.c.document_guid).where(
            _house_in_region(moment, m.c.fias_house_guid, m.c.org_guid, regions))))
    for r in _stream(connection, query):
        yield Event(r["org_guid"], "contract", r["guid"], None, r["on"], r["recorded"], r["number"])


@dataclass(frozen=True, slots=True)
class MandateStart:
    org_guid: str
    role: str
    document_guid: str
    fias_house_guid: str
    starts_on: date
    house_guid: str | None  # the registry's house, if it holds one at the moment
    house_recorded: datetime | None  # the first version of the house the organisation posted
    cadastral_gaps: int  # the house and its premises that say nothing of a cadastral number
    without_account: int  # residential premises with no open management account


def mandate_starts(connection: Connection, moment: AsOf | None, start: date, end: date,
                   regions: tuple[str, ...] = ()) -> Iterator[MandateStart]:
    """Management mandates (contracts, charters) starting between ``start`` and ``end``, with the house as the
    registry held it, when the organisation first posted a version of it, and what it lacks: cadastral numbers
    and accounts of residential premises."""
    m, o, h = versions.view(mandates, moment), versions.view(organisations, moment), versions.view(houses, moment)
    hh, c = HISTORY["houses"].c, changesets.c
    posted = (select(func.min(hh.recorded_from)).select_from(HISTORY["houses"])
              .join(changesets, c.id == hh.changeset_id)
              .where(versions.recorded_by(HISTORY["houses"], moment), hh.fias_house_guid == m.c.fias_house_guid,
                     c.org_guid == m.c.org_guid).scalar_subquery())
    p = versions.view(premises, moment).alias("gap_premises")
    gaps = (select(func.count()).select_from(p).where(p.c.house_guid == h.c.guid, p.c.cadastral_status == "missing")
            .correlate(h).scalar_subquery())
    acc, a = versions.view(account_accommodations, moment), versions.view(accounts, moment)
    p2 = versions.view(premises, moment).alias("account_premises")
    covered = (select(acc.c.premises_guid).select_from(acc).join(a, a.c.guid == acc.c.account_guid)
               .where(a.c.closed_on.is_(None), a.c.account_type == "uo", acc.c.premises_guid == p2.c.guid)
               .correlate(p2).exists())
    without = (select(func.count()).select_from(p2).where(
        p2.c.house_guid == h.c.guid, p2.c.kind == "residential", p2.c.is_common_property.is_not(True),
        ~covered).correlate(h).scalar_subquery())
    query = (select(m.c.org_guid, o.c.role, m.c.document_guid, m.c.fias_house_guid, m.c.starts_on,
                    h.c.guid.label("house"), h.c.cadastral_status.label("house_status"), posted.label("posted"),
                    gaps.label("gaps"), without.label("without"))
             .select_from(m).join(o, o.c.guid == m.c.org_guid)
             .outerjoin(h, h.c.fias_house_guid == m.c.fias_house_guid)
             .where(m.c.kind.in_(MANAGEMENT), m.c.annulled.is_(False), m.c.starts_on >= start, m.c.starts_on <= end)
             .order_by(by_org(connection, m.c.org_guid), m.c.starts_on, m.c.fias_house_guid))
    if (inside := _house_in_region(moment, m.c.fias_house_guid, m.c.org_guid, regions)) is not None:
        query = query.where(inside)
    for r in _stream(connection, query):
        house_gap = 1 if r["house_status"] == "missing" else 0
        yield MandateStart(r["org_guid"], r["role"], r["document_guid"], r["fias_house_guid"], r["starts_on"],
                           r["house"], r["posted"], int(r["gaps"] or 0) + house_gap, int(r["without"] or 0))


def meetings_ended(connection: Connection, moment: AsOf | None, start: datetime, end: datetime,
                   regions: tuple[str, ...] = ()) -> Iterator[Event]:
    """Votings (meetings, electronic votes) that ended in [``start``, ``end``), with the first recording of
    their protocol."""
    v, ph = versions.view(votings, moment), HISTORY["protocols"].c
    recorded = _first("protocols", moment, ph.voting_guid == v.c.guid)
    query = (select(v.c.posted_by, v.c.guid, v.c.fias_house_guid, v.c.ends_at, recorded.label("recorded"))
             .where(v.c.ends_at.is_not(None), v.c.ends_at >= start, v.c.ends_at < end)
             .order_by(by_org(connection, v.c.posted_by), v.c.ends_at))
    if (inside := _in_region(moment, v.c.fias_house_guid, regions)) is not None:
        query = query.where(inside)
    for r in _stream(connection, query):
        yield Event(r["posted_by"], "voting", r["guid"], r["fias_house_guid"], r["ends_at"].date(), r["recorded"],
                    "meeting")


# -- readings ---------------------------------------------------------------------------------------------------

Window = tuple[int | None, bool | None]


@dataclass(frozen=True, slots=True)
class ReadingMonth:
    """A month whose readings are due: its period (YYYY-MM), its last day and the moment after it, and the
    deadline of a device whose document names no reading window (or one not in ``deadlines``)."""

    period: str
    month_end: date
    month_end_at: datetime
    default_deadline: datetime
    deadlines: dict[Window, datetime]  # by (end day, next month) of a document's reading window


@dataclass(frozen=True, slots=True)
class DeviceMonth:
    org_guid: str
    root_guid: str
    number: str
    fias_house_guid: str
    period: str
    window_day: int | None
    window_next_month: bool | None
    recorded: datetime | None  # the month's first reading, as recorded


def reading_windows(connection: Connection, moment: AsOf | None) -> list[Window]:
    """The distinct reading windows (end day, next month) the documents name, as the registry knew them."""
    doc = versions.view(documents, moment)
    query = select(doc.c.metering_end_day, doc.c.metering_end_next_month).distinct()
    return [(r[0], r[1]) for r in connection.execute(query)]


def _rows(name: str, rows: list[dict[str, Any]], types: dict[str, Any]) -> Any:
    """A small table of literal rows (UNION ALL of SELECTs: SQLite names no VALUES columns)."""
    return union_all(*(select(*(literal(row[k], types[k]).label(k) for k in types)) for row in rows)).subquery(name)


def _device_months(moment: AsOf | None, months: list[ReadingMonth], regions: tuple[str, ...]) -> Any:
    """Every device in service in each month (commissioned by its end, not archived by then), with the
    organisation managing its house at the month's end, that organisation's reading window, the deadline and
    the month's first reading as recorded — all months in one statement: the devices, mandates and readings
    are read once, not once a month (13 reads of every reading made a year's report 26 scans of the table)."""
    d, m, doc, o = (versions.view(metering_devices, moment), versions.view(mandates, moment),
                    versions.view(documents, moment), versions.view(organisations, moment))
    r = meter_readings.c
    month = _rows("months", [{"idx": i, "period": x.period, "month_end": x.month_end, "month_end_at": x.month_end_at,
                              "deadline": x.default_deadline} for i, x in enumerate(months)],
                  {"idx": Integer(), "period": String(7), "month_end": Date(), "month_end_at": TS, "deadline": TS})
    windows = [{"period": x.period, "day": day, "next": nxt, "deadline": at}
               for x in months for (day, nxt), at in x.deadlines.items() if day is not None]
    # in service from its commissioning (or installation) — whenever it was registered: a device registered late
    # owes the readings of every month since; one that names neither date, from its registration
    end, end_at = month.c.month_end, month.c.month_end_at
    started = or_(d.c.commissioned_on <= end,
                  and_(d.c.commissioned_on.is_(None), d.c.installed_on <= end),
                  and_(d.c.commissioned_on.is_(None), d.c.installed_on.is_(None), d.c.created_at < end_at))
    in_service = and_(started, or_(d.c.archived_on.is_(None), d.c.archived_on > end))
    managed = and_(m.c.fias_house_guid == d.c.fias_house_guid, m.c.kind.in_(MANAGEMENT), m.c.annulled.is_(False),
                   m.c.starts_on <= end, or_(m.c.ends_on.is_(None), m.c.ends_on >= end))
    # each device's first reading of every month, one row a device (the months as columns)
    first = (select(r.device_root_guid, *(func.min(case((r.period == x.period, r.recorded_at))).label(f"m{i}")
                                          for i, x in enumerate(months)))
             .where(r.kind == "current", r.period.in_([x.period for x in months]),
                    versions.readings_recorded_by(moment))
             .group_by(r.device_root_guid).subquery("first_reading"))
    recorded = case(*((month.c.idx == i, first.c[f"m{i}"]) for i in range(len(months))), else_=None)
    deadline: Any = month.c.deadline
    query = (select(m.c.org_guid, d.c.root_guid, d.c.number, d.c.fias_house_guid, doc.c.metering_end_day,
                    doc.c.metering_end_next_month, month.c.idx, month.c.period)
             .select_from(d).join(month, in_service).join(m, managed).join(doc, doc.c.guid == m.c.document_guid)
             .join(o, o.c.guid == m.c.org_guid).outerjoin(first, first.c.device_root_guid == d.c.root_guid))
    if windows:
        w = _rows("windows", windows, {"period": String(7), "day": Integer(), "next": Boolean(), "deadline": TS})
        query = query.outerjoin(w, and_(w.c.period == month.c.period, w.c.day == doc.c.metering_end_day,
                                        w.c.next == doc.c.metering_end_next_month))
        deadline = func.coalesce(w.c.deadline, month.c.deadline)
    if (inside := _in_region(moment, d.c.fias_house_guid, regions)) is not None:
        query = query.where(inside)
    return query.add_columns(recorded.label("first"), deadline.label("deadline")).subquery("device_month")


@dataclass(frozen=True, slots=True)
class MonthCounts:
    """One organisation's devices of one reading window, for one month."""

    org_guid: str
    period: str
    window: Window
    on_time: int  # the month's first reading recorded by the deadline
    late: int
    missing: int  # deadline passed, no reading
    pending: int  # deadline not passed yet, no reading yet

    @property
    def due(self) -> int:
        """What counts: met (on time or late) or missing."""
        return self.on_time + self.late + self.missing


def device_month_counts(connection: Connection, moment: AsOf | None, months: list[ReadingMonth],
                        measured: datetime, regions: tuple[str, ...] = ()) -> Iterator[MonthCounts]:
    """Per organisation, month and reading window, the devices on time, late, missing and pending;
    ``measured`` is the report's moment (a deadline not passed by then is not due yet). Ordered by
    organisation, then month."""
    if not months:
        return
    q = _device_months(moment, months, regions)
    first, deadline = q.c.first, q.c.deadline
    due = deadline <= measured
    states = {"on_time": and_(first.is_not(None), first <= deadline),
              "late": and_(due, first.is_not(None), first > deadline),
              "missing": and_(due, first.is_(None)),
              "pending": and_(~due, first.is_(None))}
    counted = (select(q.c.org_guid, q.c.idx, q.c.period, q.c.metering_end_day, q.c.metering_end_next_month,
                      *(func.sum(case((cond, 1), else_=0)).label(name) for name, cond in states.items()))
               .group_by(q.c.org_guid, q.c.idx, q.c.period, q.c.metering_end_day, q.c.metering_end_next_month)
               .order_by(by_org(connection, q.c.org_guid), q.c.idx, q.c.metering_end_day,
                         q.c.metering_end_next_month))
    for r in _stream(connection, counted):
        yield MonthCounts(r["org_guid"], r["period"], (r["metering_end_day"], r["metering_end_next_month"]),
                          *(int(r[name] or 0) for name in states))


def device_month_violations(connection: Connection, moment: AsOf | None, months: list[ReadingMonth],
                            measured: datetime, regions: tuple[str, ...] = (), *, limit: int) -> Iterator[DeviceMonth]:
    """The devices whose readings of a month came late or not at all — the first ``limit`` of each
    organisation by month, house, number (all are counted by ``device_month_counts``), ordered by
    organisation."""
    if not months:
        return
    q = _device_months(moment, months, regions)
    bad = and_(q.c.deadline <= measured, or_(q.c.first.is_(None), q.c.first > q.c.deadline))
    rank = func.row_number().over(partition_by=q.c.org_guid,
                                  order_by=(q.c.idx, q.c.fias_house_guid, q.c.number, q.c.root_guid))
    ranked = select(q, rank.label("rank")).where(bad).subquery()
    rows = (select(ranked).where(ranked.c.rank <= limit)
            .order_by(by_org(connection, ranked.c.org_guid), ranked.c.rank))
    for r in _stream(connection, rows):
        yield DeviceMonth(r["org_guid"], r["root_guid"], r["number"], r["fias_house_guid"], r["period"],
                          r["metering_end_day"], r["metering_end_next_month"], r["first"])


# -- decrees ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DecreeFact:
    """What the repeat rule reads of a published decree, as the registry knew it at the moment."""

    guid: str
    registry_number: str
    offender_guid: str
    violation_codes: frozenset[str]
    proceeding_date: date
    executed: bool | None
    fine_paid_on: date | None
    decree_date: date


def decrees_known(connection: Connection, moment: AsOf | None) -> list[DecreeFact]:
    """Published decrees (cancelled and annulled ones never make a violation repeated). They number in the
    thousands at most: read whole."""
    d = versions.view(decrees, moment)
    rows = connection.execute(select(d.c.guid, d.c.registry_number, d.c.offender_guid, d.c.violation_codes,
                                     d.c.proceeding_date, d.c.executed, d.c.fine_paid_on, d.c.data)
                              .where(d.c.status == "Published").order_by(d.c.offender_guid, d.c.proceeding_date))
    return [DecreeFact(r.guid, r.registry_number, r.offender_guid, frozenset(r.violation_codes), r.proceeding_date,
                       r.executed, r.fine_paid_on, date.fromisoformat(r.data["document"]["on"])) for r in rows]


# -- data quality -----------------------------------------------------------------------------------------------

EXPLICITLY_WITHOUT = ("no_number", "not_registered")


@dataclass(frozen=True, slots=True)
class HouseQuality:
    """One house as the registry knew it: its manager on the day, its premises by cadastral state, residential
    premises without an open management account, devices in service past their verification date."""

    org_guid: str | None  # the management organisation on the day (None: none holds a mandate)
    house_guid: str
    fias_house_guid: str
    oktmo: str | None
    house_cadastral: str  # number | no_number | not_registered | missing
    premises: int
    with_number: int
    explicitly_without: int
    missing: int
    residential: int
    residential_without_account: int
    devices: int
    devices_overdue: int


def house_quality(connection: Connection, moment: AsOf | None, day: date,
                  regions: tuple[str, ...] = ()) -> Iterator[HouseQuality]:
    """Every house with its indicators, ordered by its manager on ``day`` (houses without one last)."""
    h, p, m = versions.view(houses, moment), versions.view(premises, moment), versions.view(mandates, moment)
    acc, a = versions.view(account_accommodations, moment), versions.view(accounts, moment)
    d = versions.view(metering_devices, moment)
    status = p.c.cadastral_status

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    # the premises with an open account, joined (a correlated EXISTS in the sums was estimated per row: the
    # planner's costs went to 10^8, it chose nested loops and JIT for 10,000 houses — 16 s; joined, 1 s)
    covered = (select(acc.c.premises_guid).select_from(acc).join(a, a.c.guid == acc.c.account_guid)
               .where(a.c.closed_on.is_(None), acc.c.premises_guid.is_not(None)).distinct().subquery("covered"))
    residential = and_(p.c.kind == "residential", p.c.is_common_property.is_not(True))
    by_premises = (select(p.c.house_guid, func.count().label("n"), counted(status == "number").label("numbered"),
                          counted(status.in_(EXPLICITLY_WITHOUT)).label("explicit"),
                          counted(status == "missing").label("gap"), counted(residential).label("residential"),
                          counted(and_(residential, covered.c.premises_guid.is_(None))).label("without"))
                   .select_from(p).outerjoin(covered, covered.c.premises_guid == p.c.guid)
                   .group_by(p.c.house_guid).subquery("by_premises"))
    in_service = and_(or_(d.c.archived_on.is_(None), d.c.archived_on > day))
    by_devices = (select(d.c.house_guid, func.count().label("n"),
                         counted(and_(d.c.next_verification_on.is_not(None), d.c.next_verification_on < day))
                         .label("overdue"))
                  .where(in_service).group_by(d.c.house_guid).subquery("by_devices"))
    managers = (select(m.c.fias_house_guid, func.min(m.c.org_guid).label("org_guid"))
                .where(m.c.kind.in_(MANAGEMENT), m.c.annulled.is_(False), m.c.starts_on <= day,
                       or_(m.c.ends_on.is_(None), m.c.ends_on >= day))
                .group_by(m.c.fias_house_guid).subquery("managers"))
    org = managers.c.org_guid
    query = (select(org, h.c.guid, h.c.fias_house_guid, h.c.oktmo, h.c.cadastral_status,
                    by_premises.c.n, by_premises.c.numbered, by_premises.c.explicit, by_premises.c.gap,
                    by_premises.c.residential, by_premises.c.without, by_devices.c.n.label("devices"),
                    by_devices.c.overdue)
             .select_from(h).outerjoin(managers, managers.c.fias_house_guid == h.c.fias_house_guid)
             .outerjoin(by_premises, by_premises.c.house_guid == h.c.guid)
             .outerjoin(by_devices, by_devices.c.house_guid == h.c.guid)
             .order_by(org.is_(None), by_org(connection, org), h.c.fias_house_guid))
    if regions:
        query = query.where(in_regions(h.c.oktmo, regions))
    for r in _stream(connection, query):
        yield HouseQuality(r["org_guid"], r["guid"], r["fias_house_guid"], r["oktmo"], r["cadastral_status"],
                           *(int(r[k] or 0) for k in ("n", "numbered", "explicit", "gap", "residential", "without",
                                                      "devices", "overdue")))


def open_discrepancies(connection: Connection, at: datetime | None) -> Iterator[tuple[str, str, int]]:
    """(org, kind, count) of reconciliation discrepancies open at ``at`` (found by then, not closed by then),
    ordered by organisation. Discrepancies are not versioned: this reads their first sighting and closing times."""
    from gateway.registry.tables import discrepancies

    x = discrepancies.c
    query = select(x.org_guid, x.kind, func.count().label("n")).where(x.org_guid.is_not(None))
    if at is not None:
        query = query.where(x.first_seen_at <= at, or_(x.closed_at.is_(None), x.closed_at > at))
    else:
        query = query.where(x.status.in_(("open", "acknowledged")))
    query = query.group_by(x.org_guid, x.kind).order_by(by_org(connection, x.org_guid), x.kind)
    for r in _stream(connection, query):
        yield r["org_guid"], r["kind"], int(r["n"])
