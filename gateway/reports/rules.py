"""The obligations as data: ``obligations.toml`` (shipped in the package), loaded and checked once at start.

Every rule names its legal basis and whether its text was confirmed against the act (``verified``); an
unverified rule is evaluated and marked so wherever it is shown. The deadline arithmetic lives here too: working
days by the Russian production calendar (the maintained ``holidays`` library: public holidays, the days off
moved by government decree, and the weekend days made working days), deadlines ending at 24:00 Moscow time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import holidays

from gateway.domain.contracts import MonthDay
from gateway.errors import ConfigError

RULES_FILE = Path(__file__).with_name("obligations.toml")
MOSCOW = timezone(timedelta(hours=3))
TRIGGERS = frozenset({"contract_signed", "contract_terminated", "mandate_started", "device_month", "meeting_ended"})
EVIDENCE = frozenset({"contract_recorded", "termination_recorded", "house_posted", "house_cadastral_complete",
                      "accounts_for_residential", "monthly_reading", "protocol_posted"})
DEADLINES = frozenset({"working_days_after", "days_after", "reading_window", "next_month_day"})
ROLES = frozenset({"management_company", "hoa", "housing_cooperative", "resource_supply"})


@dataclass(frozen=True, slots=True)
class DayByPeriod:
    """A day of the (next) month that applies from ``starts`` to ``ends`` (inclusive; None: still in force)."""

    starts: date
    ends: date | None
    day: int

    def applies(self, on: date) -> bool:
        return self.starts <= on and (self.ends is None or on <= self.ends)


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str
    n: int = 0
    by_period: tuple[DayByPeriod, ...] = ()

    def day_for(self, on: date) -> int | None:
        """The statutory day in force ``on`` (a cap or a next-month day), if one is."""
        return next((p.day for p in self.by_period if p.applies(on)), None)


@dataclass(frozen=True, slots=True)
class Obligation:
    id: str
    title: str
    title_ru: str
    roles: frozenset[str]
    data: str
    trigger: str
    deadline: Deadline
    evidence: str
    effective_from: date
    effective_to: date | None
    legal_basis: str
    source: str
    verified: bool
    note: str
    offence: str | None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    id: str
    title: str
    title_ru: str
    roles: frozenset[str]
    legal_basis: str
    reason: str


@dataclass(frozen=True, slots=True)
class Fine:
    offence: str
    subject: str
    effective_from: date
    first: str  # empty: not verified — never an invented number
    repeated: str
    source: str
    verified: bool


@dataclass(frozen=True, slots=True)
class RepeatRule:
    legal_basis: str
    source: str
    verified: bool
    years_after_execution: int
    #: offence (an article of КоАП) → the NSI 229 codes (subject of the violation) a decree must name
    offences: dict[str, frozenset[str]] = field(default_factory=dict)
    offences_verified: bool = False
    offences_source: str = ""


@dataclass(frozen=True, slots=True)
class Rules:
    obligations: tuple[Obligation, ...]
    not_evaluated: tuple[NotEvaluated, ...]
    fines: tuple[Fine, ...]
    repeat: RepeatRule

    def fine(self, offence: str | None, on: date, *, subject: str = "legal_entity") -> Fine | None:
        """The fine rule in force ``on`` for an offence and a kind of offender."""
        found = [f for f in self.fines if f.offence == offence and f.subject == subject and f.effective_from <= on]
        return max(found, key=lambda f: f.effective_from) if found else None


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _required(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in ("", None):
        raise ConfigError(f"{where}: {key} is missing")
    return raw[key]


def _deadline(raw: Any, where: str) -> Deadline:
    if not isinstance(raw, dict) or raw.get("kind") not in DEADLINES:
        raise ConfigError(f"{where}: deadline.kind must be one of {', '.join(sorted(DEADLINES))}")
    periods = tuple(DayByPeriod(_date(p["from"], where), _date(p["to"], where) if p.get("to") else None,
                                int(p["day"])) for p in raw.get("cap") or raw.get("by_period") or [])
    for p in periods:
        if not 1 <= p.day <= 31:
            raise ConfigError(f"{where}: a deadline day {p.day} is not 1 to 31")
    kind = raw["kind"]
    if kind in ("working_days_after", "days_after") and int(raw.get("n", 0)) < 1:
        raise ConfigError(f"{where}: {kind} needs n ≥ 1")
    if kind in ("reading_window", "next_month_day") and not periods:
        raise ConfigError(f"{where}: {kind} needs its statutory days by period")
    return Deadline(kind, int(raw.get("n", 0)), periods)


def _roles(raw: dict[str, Any], where: str) -> frozenset[str]:
    roles = frozenset(_required(raw, "roles", where))
    if unknown := roles - ROLES:
        raise ConfigError(f"{where}: unknown role(s) {', '.join(sorted(unknown))}")
    return roles


def parse(text: str, where: str = "obligations.toml") -> Rules:
    """Read and check a rules file: every field known and of its kind, every rule identified once."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    obligations = []
    for n, item in enumerate(raw.get("obligation", []), start=1):
        at = f"{where}: obligation {item.get('id', n)}"
        trigger, evidence = _required(item, "trigger", at), _required(item, "evidence", at)
        if trigger not in TRIGGERS:
            raise ConfigError(f"{at}: trigger {trigger!r} is not one of {', '.join(sorted(TRIGGERS))}")
        if evidence not in EVIDENCE:
            raise ConfigError(f"{at}: evidence {evidence!r} is not one of {', '.join(sorted(EVIDENCE))}")
        if not isinstance(item.get("verified"), bool):
            raise ConfigError(f"{at}: verified must be true or false (was the text confirmed against the act?)")
        obligations.append(Obligation(
            id=_required(item, "id", at), title=_required(item, "title", at), title_ru=_required(item, "title_ru", at),
            roles=_roles(item, at), data=_required(item, "data", at), trigger=trigger,
            deadline=_deadline(item.get("deadline"), at), evidence=evidence,
            effective_from=_date(_required(item, "effective_from", at), at),
            effective_to=_date(item["effective_to"], at) if item.get("effective_to") else None,
            legal_basis=_required(item, "legal_basis", at), source=_required(item, "source", at),
            verified=item["verified"], note=item.get("note", ""), offence=item.get("offence") or None))
    ids = [o.id for o in obligations]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: an obligation id is used twice")
    not_evaluated = tuple(NotEvaluated(_required(i, "id", where), _required(i, "title", where),
                                       _required(i, "title_ru", where), _roles(i, where), i.get("legal_basis", ""),
                                       _required(i, "reason", where)) for i in raw.get("not_evaluated", []))
    fines = []
    for item in raw.get("fine", []):
        at = f"{where}: fine {item.get('offence')}/{item.get('subject')}"
        for amount in ("first", "repeated"):
            if item.get(amount) and not item.get("verified"):
                raise ConfigError(f"{at}: an amount is given but not verified against the act; leave it empty")
        fines.append(Fine(_required(item, "offence", at), _required(item, "subject", at),
                          _date(_required(item, "effective_from", at), at), str(item.get("first", "")),
                          str(item.get("repeated", "")), _required(item, "source", at), bool(item.get("verified"))))
    repeat = raw.get("repeat", {})
    rule = RepeatRule(repeat.get("legal_basis", ""), repeat.get("source", ""), bool(repeat.get("verified")),
                      int(repeat.get("years_after_execution", 1)),
                      {k: frozenset(str(c) for c in v) for k, v in repeat.get("offences", {}).items()},
                      bool(repeat.get("offences_verified")), str(repeat.get("offences_source", "")))
    return Rules(tuple(obligations), not_evaluated, tuple(fines), rule)


@cache
def load(path: Path = RULES_FILE) -> Rules:
    """The rules file, read once per process."""
    try:
        return parse(path.read_text(encoding="utf-8"), path.name)
    except OSError as exc:
        raise ConfigError(f"cannot read the obligations file {path}: {exc}") from None


# -- deadlines --------------------------------------------------------------------------------------------------

@cache
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=[year - 1, year, year + 1])


def is_working_day(day: date) -> bool:
    """By the Russian production calendar: weekends and public holidays off, days off moved by decree off, and
    weekend days made working days (e.g. Saturday 1 November 2025) on."""
    return bool(_calendar(day.year).is_working_day(day))


def working_days_after(day: date, n: int) -> date:
    """The n-th working day after ``day``."""
    found, current = 0, day
    while found < n:
        current += timedelta(days=1)
        if is_working_day(current):
            found += 1
    return current


def first_full_month(day: date) -> tuple[int, int]:
    """The first month wholly under a mandate that starts on ``day``."""
    if day.day == 1:
        return day.year, day.month
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


def due_on(obligation: Obligation, trigger: date) -> date:
    """The last day an obligation triggered on ``trigger`` may be met (for device months: see ``reading_due``)."""
    rule = obligation.deadline
    if rule.kind == "working_days_after":
        return working_days_after(trigger, rule.n)
    if rule.kind == "days_after":
        return trigger + timedelta(days=rule.n)
    if rule.kind == "next_month_day":
        year, month = first_full_month(trigger)
        day = rule.day_for(_following(year, month)) or 1
        return MonthDay(day, next_month=True).in_month(year, month)
    raise ValueError(f"obligation {obligation.id}: a {rule.kind} deadline depends on the month metered")


def _following(year: int, month: int) -> date:
    """The first day of the month after ``year``-``month``: a statutory day applies as in force in the month the
    deadline falls in (the amendment of 01.03.2026 gives the readings and payment documents of February 2026 until
    5 March — an assumption, the transitional rule was not found)."""
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def reading_due(obligation: Obligation, year: int, month: int, window_end: MonthDay | None) -> date:
    """Readings of ``year``-``month``: the contract's window end, never later than the statutory cap in force."""
    cap_day = obligation.deadline.day_for(_following(year, month)) or 1
    cap = MonthDay(cap_day, next_month=True).in_month(year, month)
    if window_end is None:
        return cap
    return min(window_end.in_month(year, month), cap)


def end_of(day: date) -> datetime:
    """The moment a deadline day ends: 24:00 Moscow time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=MOSCOW)
