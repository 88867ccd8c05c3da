"""Compliance as of a moment: for every organisation and obligation, what was due, met on time, met late (and
how late), missing or not yet due — with the objects concerned, first or repeated, and the fine that applies.

The registry is read as it was known at the report's moment (``versions``: a report run today for 1 March gives
exactly what one run on 1 March gave). Every obligation is one set-based statement (per month for readings),
streamed in organisation order and merged, so an organisation's block is complete when the next one begins:
memory holds one organisation at a time, whatever their number.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

from sqlalchemy import Connection

from gateway.domain.contracts import MonthDay
from gateway.registry import versions
from gateway.registry.queries import Reader
from gateway.registry.queries import compliance as evidence
from gateway.registry.queries.rows import OrganisationRow
from gateway.reports import rules as rulebook
from gateway.reports.rules import MOSCOW, Obligation, Rules

#: violations kept per organisation and obligation in a report (all are counted)
DETAIL_LIMIT = 200
STATUSES = ("due", "on_time", "late", "missing", "pending")


@dataclass(frozen=True, slots=True)
class Filters:
    period_from: date
    period_to: date
    regions: tuple[str, ...] = ()  # OKTMO prefixes (none: everywhere)
    roles: frozenset[str] = frozenset()
    org: str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    obligation: str
    org_guid: str
    status: str  # late | missing
    object_type: str
    object_guid: str
    fias_house_guid: str | None
    due_on: date
    recorded_on: date | None
    days_late: int | None
    repeated: bool
    detail: str


@dataclass
class Tally:
    due: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0
    repeated: int = 0

    def add(self, other: Tally) -> None:
        self.due += other.due
        self.on_time += other.on_time
        self.late += other.late
        self.missing += other.missing
        self.pending += other.pending
        self.repeated += other.repeated


@dataclass
class OrgCompliance:
    org: OrganisationRow
    tallies: dict[str, Tally] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    violations_total: int = 0

    @property
    def in_breach(self) -> bool:
        return any(t.late or t.missing for t in self.tallies.values())


def penalised_on(decree: evidence.DecreeFact, day: date, years_after_execution: int) -> bool:
    """КоАП ст. 4.6: deemed penalised from the decree's entry into force (taken to be ProceedingDate: the rap
    service carries no entry-into-force date) until ``years_after_execution`` after its execution ended — the
    fine's payment, or for an executed decree without a payment date the decree's own date (an assumption: a
    warning is executed when issued). A decree not executed keeps the organisation penalised."""
    if day < decree.proceeding_date and not (decree.fine_paid_on and decree.fine_paid_on <= day):
        return False
    if decree.executed is not True:
        return True
    ended = decree.fine_paid_on or decree.decree_date
    try:
        until = ended.replace(year=ended.year + years_after_execution)
    except ValueError:  # 29 February
        until = ended.replace(year=ended.year + years_after_execution, day=28)
    return day <= until


@dataclass(frozen=True, slots=True)
class _Item:
    """One fact of one organisation from one stream: a tally to add, or a violation."""

    obligation: str
    tally: Tally | None = None
    violation: Violation | None = None
    due_on: date | None = None  # the deadline of what the tally counts as violated (for the by-month chart)


def _months(start: date, end: date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _month_end(year: int, month: int) -> date:
    return (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1))


class Evaluation:
    """``Evaluation(connection, at, filters).organisations()`` streams each organisation's compliance."""

    def __init__(self, connection: Connection, at: datetime, filters: Filters, *, rules: Rules | None = None
                 ) -> None:
        self.connection = connection
        evidence.tune(connection)
        self.at = at
        self.filters = filters
        self.rules = rules or rulebook.load()
        self.reader = Reader(connection, at)
        self.moment: versions.AsOf | None = self.reader.moment
        self.measured_on = at.astimezone(MOSCOW).date()
        self.decrees: dict[str, list[evidence.DecreeFact]] = {}
        for decree in evidence.decrees_known(connection, self.moment):
            self.decrees.setdefault(decree.offender_guid, []).append(decree)
        self.totals: dict[str, Tally] = {}
        self.by_month: Counter[tuple[str, str]] = Counter()  # (obligation, YYYY-MM of the deadline) → violations

    # -- streams, each ordered by organisation --------------------------------------------------------------
    def _obligations(self, evidence_kind: str) -> list[Obligation]:
        return [o for o in self.rules.obligations if o.evidence == evidence_kind]

    def _classify(self, obligation: Obligation, org: str, object_type: str, guid: str, fias: str | None,
                  due_on: date, recorded: datetime | None, detail: str) -> _Item:
        """One event's obligation: pending (its deadline not passed, nothing recorded), on time, late or missing."""
        ends = rulebook.end_of(due_on)
        if recorded is not None and recorded <= ends:
            return _Item(obligation.id, Tally(due=1, on_time=1))
        if recorded is None and ends > self.at:
            return _Item(obligation.id, Tally(pending=1))
        violation = self._violation(obligation, org, object_type, guid, fias, due_on, recorded, detail)
        return _Item(obligation.id, Tally(due=1, late=int(recorded is not None), missing=int(recorded is None),
                                          repeated=int(violation.repeated)), violation, due_on)

    def _violation(self, obligation: Obligation, org: str, object_type: str, guid: str, fias: str | None,
                   due_on: date, recorded: datetime | None, detail: str) -> Violation:
        recorded_on = recorded.astimezone(MOSCOW).date() if recorded else None
        return Violation(obligation.id, org, "late" if recorded else "missing", object_type, guid, fias, due_on,
                         recorded_on, (recorded_on - due_on).days if recorded_on else None,
                         self._repeated(obligation, org, due_on), detail)

    def _repeated(self, obligation: Obligation, org: str, on: date) -> bool:
        if org not in self.decrees:  # most organisations: no decree
            return False
        codes = self.rules.repeat.offences.get(obligation.offence or "", frozenset())
        years = self.rules.repeat.years_after_execution
        return any(d.violation_codes & codes and penalised_on(d, on, years) for d in self.decrees.get(org, ()))

    def _state(self, obligation: Obligation, org: str, fias: str, due_on: date, gaps: int, detail: str) -> _Item:
        """A state the registry holds at the report's moment (cadastral numbers, accounts): met or missing."""
        if gaps == 0:
            return _Item(obligation.id, Tally(due=1, on_time=1))
        if rulebook.end_of(due_on) > self.at:
            return _Item(obligation.id, Tally(pending=1))
        violation = self._violation(obligation, org, "house", fias, fias, due_on, None, detail.format(gaps=gaps))
        return _Item(obligation.id, Tally(due=1, missing=1, repeated=int(violation.repeated)), violation, due_on)

    def _contracts(self, obligation: Obligation, terminated: bool) -> Iterator[tuple[str, _Item]]:
        f = self.filters
        for e in evidence.contract_events(self.connection, self.moment, f.period_from, f.period_to,
                                          terminated=terminated, regions=f.regions):
            if obligation.in_force(e.trigger):
                yield e.org_guid, self._classify(obligation, e.org_guid, "contract", e.object_guid, None,
                                                 rulebook.due_on(obligation, e.trigger), e.recorded,
                                                 f"contract {e.detail} of {e.trigger.isoformat()}")

    def _mandates(self, obligations: dict[str, Obligation]) -> Iterator[tuple[str, _Item]]:
        f = self.filters
        for m in evidence.mandate_starts(self.connection, self.moment, f.period_from, f.period_to, f.regions):
            for kind, obligation in obligations.items():
                if m.role not in obligation.roles or not obligation.in_force(m.starts_on):
                    continue
                due = rulebook.due_on(obligation, m.starts_on)
                if kind == "house_posted":
                    yield m.org_guid, self._classify(obligation, m.org_guid, "house", m.fias_house_guid,
                                                     m.fias_house_guid, due, m.house_recorded,
                                                     f"house {m.fias_house_guid}, managed from {m.starts_on}")
                elif m.house_guid is not None:  # the house's own state, once the registry holds the house
                    gaps = m.cadastral_gaps if kind == "house_cadastral_complete" else m.without_account
                    what = ("{gaps} of the house and its premises say nothing of a cadastral number"
                            if kind == "house_cadastral_complete" else
                            "{gaps} residential premises without an open personal account")
                    yield m.org_guid, self._state(obligation, m.org_guid, m.fias_house_guid, due, gaps, what)

    def _readings(self, obligation: Obligation) -> Iterator[Iterator[tuple[str, _Item]]]:
        """Two streams over every month metered in the period: each organisation's counts by month and reading
        window, and its first violations (at most ``DETAIL_LIMIT``)."""
        f = self.filters
        measured = min(self.at, datetime.now(UTC))
        windows = evidence.reading_windows(self.connection, self.moment)
        months, due = [], {}
        for year, month in _months(f.period_from, f.period_to):
            month_end = _month_end(year, month)
            if not obligation.in_force(month_end) or datetime.combine(date(year, month, 1), datetime.min.time(),
                                                                        tzinfo=MOSCOW) > self.at:
                continue
            period = f"{year:04d}-{month:02d}"
            month_end_at = datetime.combine(month_end + timedelta(days=1), datetime.min.time(), tzinfo=MOSCOW)
            for w in {*windows, (None, None)}:
                due[(period, w)] = self._reading_due(obligation, year, month, w)
            deadlines = {w: rulebook.end_of(due[(period, w)]) for w in {*windows, (None, None)}}
            months.append(evidence.ReadingMonth(period, month_end, month_end_at, deadlines[(None, None)], deadlines))
        if not months:
            return
        args = (self.connection, self.moment, months, measured, f.regions)
        yield self._reading_counts(obligation, evidence.device_month_counts(*args), due)
        yield self._reading_violations(obligation, evidence.device_month_violations(*args, limit=DETAIL_LIMIT), due)

    @staticmethod
    def _reading_due(obligation: Obligation, year: int, month: int, window: evidence.Window) -> date:
        day, next_month = window
        end = MonthDay(day, bool(next_month)) if day else None
        return rulebook.reading_due(obligation, year, month, end)

    def _reading_counts(self, obligation: Obligation, rows: Iterator[evidence.MonthCounts],
                        due: dict[tuple[str, evidence.Window], date]) -> Iterator[tuple[str, _Item]]:
        for c in rows:
            due_on = due.get((c.period, c.window), due[(c.period, (None, None))])
            repeated = c.late + c.missing if self._repeated(obligation, c.org_guid, due_on) else 0
            yield c.org_guid, _Item(obligation.id, Tally(due=c.due, on_time=c.on_time, late=c.late,
                                                         missing=c.missing, pending=c.pending, repeated=repeated),
                                    due_on=due_on)

    def _reading_violations(self, obligation: Obligation, rows: Iterator[evidence.DeviceMonth],
                            due: dict[tuple[str, evidence.Window], date]) -> Iterator[tuple[str, _Item]]:
        for d in rows:
            due_on = due.get((d.period, (d.window_day, d.window_next_month)), due[(d.period, (None, None))])
            yield d.org_guid, _Item(obligation.id, violation=self._violation(
                obligation, d.org_guid, "device", d.root_guid, d.fias_house_guid, due_on, d.recorded,
                f"device {d.number}: readings of {d.period}"))

    def _meetings(self, obligation: Obligation) -> Iterator[tuple[str, _Item]]:
        f = self.filters
        start = datetime.combine(f.period_from, datetime.min.time(), tzinfo=MOSCOW)
        end = datetime.combine(f.period_to + timedelta(days=1), datetime.min.time(), tzinfo=MOSCOW)
        for e in evidence.meetings_ended(self.connection, self.moment, start, end, f.regions):
            if obligation.in_force(e.trigger):
                yield e.org_guid, self._classify(obligation, e.org_guid, "voting", e.object_guid, e.fias_house_guid,
                                                 rulebook.due_on(obligation, e.trigger), e.recorded,
                                                 f"meeting ended {e.trigger.isoformat()}")

    def _streams(self) -> list[Iterator[tuple[str, _Item]]]:
        streams: list[Iterator[tuple[str, _Item]]] = []
        for obligation in self.rules.obligations:
            if obligation.evidence == "contract_recorded":
                streams.append(self._contracts(obligation, terminated=False))
            elif obligation.evidence == "termination_recorded":
                streams.append(self._contracts(obligation, terminated=True))
            elif obligation.evidence == "protocol_posted":
                streams.append(self._meetings(obligation))
            elif obligation.evidence == "monthly_reading":
                streams.extend(self._readings(obligation))
        by_house = {o.evidence: o for o in self.rules.obligations
                    if o.evidence in ("house_posted", "house_cadastral_complete", "accounts_for_residential")}
        if by_house:
            streams.append(self._mandates(by_house))
        return streams

    # -- the report ---------------------------------------------------------------------------------------------
    def organisations(self) -> Iterator[OrgCompliance]:
        """Each organisation with anything due, in GUID order, complete."""
        f = self.filters
        known = evidence.InOrder(evidence.organisations_by_guid(self.connection, self.moment))
        merged = heapq.merge(*self._streams(), key=lambda pair: pair[0])
        for org_guid, items in groupby(merged, key=lambda pair: pair[0]):
            org = known.get(org_guid)
            if org is not None and (f.roles and org.role not in f.roles or f.org is not None and org.guid != f.org):
                org = None
            if org is None:
                for _ in items:
                    pass
                continue
            block, kept = OrgCompliance(org), Counter[str]()
            for _, item in items:
                tally = block.tallies.setdefault(item.obligation, Tally())
                if item.tally is not None:
                    tally.add(item.tally)
                    if item.due_on is not None and (bad := item.tally.late + item.tally.missing):
                        self.by_month[(item.obligation, item.due_on.strftime("%Y-%m"))] += bad
                if (v := item.violation) is not None and kept[v.obligation] < DETAIL_LIMIT:
                    kept[v.obligation] += 1
                    block.violations.append(v)
            for obligation, tally in block.tallies.items():
                block.violations_total += tally.late + tally.missing
                self.totals.setdefault(obligation, Tally()).add(tally)
            yield block
