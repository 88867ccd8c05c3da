"""The obligations file and the deadline arithmetic: working days by the Russian production calendar, reading
windows capped by the statutory day in force, the repeat rule of КоАП ст. 4.6, and a rules file that refuses
what it cannot stand behind (an unverified fine amount, an unknown trigger)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.contracts import MonthDay
from gateway.errors import ConfigError
from gateway.registry.queries.compliance import DecreeFact
from gateway.reports import rules
from gateway.reports.evaluate import penalised_on

RULES = rules.load()
BY_ID = {o.id: o for o in RULES.obligations}


@pytest.mark.parametrize(("signed", "due"), [
    (date(2025, 12, 30), date(2026, 1, 14)),  # 31.12.2025 and 1–11.01.2026 off: 12, 13, 14 January
    (date(2026, 4, 30), date(2026, 5, 6)),  # 1 May a holiday, 2–3 a weekend: 4, 5, 6 May
    (date(2025, 10, 31), date(2025, 11, 6)),  # Saturday 1.11.2025 a working day; 3 and 4 November off
    (date(2026, 11, 23), date(2026, 11, 26)),  # an ordinary week
])
def test_three_working_days_follow_the_production_calendar(signed: date, due: date) -> None:
    assert rules.due_on(BY_ID["house-list-contract"], signed) == due


def test_weekend_days_made_working_days_count_and_weekdays_made_days_off_do_not() -> None:
    assert rules.is_working_day(date(2025, 11, 1))  # a Saturday, working by decree
    assert not rules.is_working_day(date(2025, 11, 3))  # a Monday, off by decree
    assert not rules.is_working_day(date(2026, 12, 31))  # a Thursday, off by decree


@given(st.dates(min_value=date(2016, 1, 1), max_value=date(2027, 12, 1)), st.integers(min_value=1, max_value=15))
def test_the_nth_working_day_is_a_working_day_with_exactly_n_before_it(start: date, n: int) -> None:
    due = rules.working_days_after(start, n)
    assert due > start and rules.is_working_day(due)
    between = [start + timedelta(days=d) for d in range(1, (due - start).days + 1)]
    assert sum(rules.is_working_day(d) for d in between) == n


def test_readings_are_due_at_the_contract_window_end_never_after_the_statutory_cap() -> None:
    readings = BY_ID["readings"]
    assert rules.reading_due(readings, 2026, 10, MonthDay(25, False)) == date(2026, 10, 25)
    assert rules.reading_due(readings, 2026, 10, MonthDay(10, True)) == date(2026, 11, 5)  # capped: the 5th
    assert rules.reading_due(readings, 2026, 1, MonthDay(10, True)) == date(2026, 2, 1)  # the 1st before 1.03.2026
    assert rules.reading_due(readings, 2026, 10, None) == date(2026, 11, 5)  # no window: the cap
    assert rules.reading_due(readings, 2026, 2, MonthDay(31, False)) == date(2026, 2, 28)  # the month's last day


@given(st.dates(min_value=date(2017, 1, 1), max_value=date(2030, 12, 1)),
       st.one_of(st.none(), st.tuples(st.integers(1, 31), st.booleans())))
def test_a_reading_deadline_lies_in_the_month_metered_or_the_next(day: date, window: tuple[int, bool] | None) -> None:
    due = rules.reading_due(BY_ID["readings"], day.year, day.month,
                            MonthDay(*window) if window else None)
    first = date(day.year, day.month, 1)
    assert first <= due <= (first + timedelta(days=62)).replace(day=5)


def test_accounts_are_due_after_the_first_full_month_under_management() -> None:
    accounts = BY_ID["accounts"]
    assert rules.due_on(accounts, date(2026, 1, 1)) == date(2026, 2, 1)  # January is the first full month
    assert rules.due_on(accounts, date(2026, 1, 2)) == date(2026, 3, 5)  # February; from 1.03.2026 the 5th


def test_deadlines_end_at_midnight_moscow_time() -> None:
    assert rules.end_of(date(2026, 1, 14)).isoformat() == "2026-01-15T00:00:00+03:00"


def _decree(proceeding: date, *, executed: bool | None = None, paid: date | None = None) -> DecreeFact:
    return DecreeFact("g", "D1", "org", frozenset({"1"}), proceeding, executed, paid, proceeding)


def test_penalised_from_the_decree_until_a_year_after_its_execution() -> None:
    unpaid = _decree(date(2026, 3, 1))
    assert not penalised_on(unpaid, date(2026, 2, 28), 1)
    assert penalised_on(unpaid, date(2026, 3, 1), 1) and penalised_on(unpaid, date(2030, 1, 1), 1)
    paid = _decree(date(2026, 3, 1), executed=True, paid=date(2026, 4, 10))
    assert penalised_on(paid, date(2027, 4, 10), 1) and not penalised_on(paid, date(2027, 4, 11), 1)
    early = _decree(date(2026, 3, 1), executed=True, paid=date(2026, 2, 20))  # paid before the decree's force
    assert penalised_on(early, date(2026, 2, 25), 1) and not penalised_on(early, date(2027, 2, 21), 1)


def test_every_shipped_rule_names_its_basis_and_whether_it_was_verified() -> None:
    assert {o.id for o in RULES.obligations} >= {"house-list-contract", "house-posted", "house-cadastral",
                                                  "accounts", "readings", "protocols"}
    assert all(o.legal_basis and o.source and isinstance(o.verified, bool) for o in RULES.obligations)
    assert {n.id for n in RULES.not_evaluated} == {"payment-documents", "annual-report", "appeals"}
    assert all(not f.first and not f.repeated for f in RULES.fines if not f.verified)


BASE = """
[[obligation]]
id = "x"
title = "x"
title_ru = "x"
roles = ["management_company"]
data = "houses"
trigger = "mandate_started"
deadline = { kind = "working_days_after", n = 3 }
evidence = "house_posted"
effective_from = "2016-01-01"
legal_basis = "x"
source = "x"
verified = false
"""


@pytest.mark.parametrize(("text", "message"), [
    (BASE.replace('"mandate_started"', '"moon_phase"'), "trigger"),
    (BASE.replace("verified = false", ""), "verified must be true or false"),
    (BASE.replace("n = 3", "n = 0"), "needs n"),
    (BASE.replace('"management_company"', '"landlord"'), "unknown role"),
    (BASE + BASE, "used twice"),
    (BASE + '[[fine]]\noffence = "13.19.2"\nsubject = "legal_entity"\neffective_from = "2021-01-01"\n'
            'first = "3000"\nsource = "x"\nverified = false\n', "not verified"),
    ("[[obligation]\n", "obligations.toml"),
])
def test_a_rules_file_it_cannot_stand_behind_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        rules.parse(text)
