"""The reading rules of DESIGN §3, on the pure domain: order, roll-over, warnings, dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.metering import (
    Device,
    DeviceData,
    DeviceKind,
    DeviceResource,
    Flag,
    ReadingKind,
    ReadingToImport,
    StoredReading,
    consumption,
    judge,
    next_verification,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.errors import Code

WATER = NsiRef("1", Guid.new(), "Холодная вода")
TODAY = date(2026, 11, 23)


def device(*, base: tuple[str, ...] = ("10",), electric: bool = False, archived: date | None = None,
           commissioned: date = date(2026, 1, 15), verification: date | None = None) -> tuple[Device, DeviceResource]:
    resource = DeviceResource(None if electric else WATER, electric, tuple(Decimal(b) for b in base))
    data = DeviceData(number="ХВ-1", kind=DeviceKind.RESIDENTIAL, resources=(resource,), commissioned_on=commissioned)
    made = Device(Guid.new(), Guid.new(), 1, Guid.new(), FiasHouseGuid(str(Guid.new())), data, Guid.new(),
                  datetime.now(UTC), "ПУ-1", next_verification_on=verification, archived_on=archived)
    return made, resource


def reading(value: str | tuple[str, ...], on: date, *, electric: bool = False) -> ReadingToImport:
    values = tuple(Decimal(v) for v in ((value,) if isinstance(value, str) else value))
    return ReadingToImport(Guid.new(), Guid.new(), None, ReadingKind.CURRENT, None if electric else "1", values, on)


def kept(value: str | tuple[str, ...], on: date) -> StoredReading:
    values = tuple(Decimal(v) for v in ((value,) if isinstance(value, str) else value))
    return StoredReading(Guid.new(), on, f"{on.year:04d}-{on.month:02d}", values)


def verdict(new: ReadingToImport, earlier: list[StoredReading], following: StoredReading | None = None, **kwargs):  # type: ignore[no-untyped-def]
    made, resource = device(**kwargs)
    return judge(new, device=made, base=resource, earlier=earlier, following=following, today=TODAY)


def test_a_reading_above_the_previous_one_is_accepted_without_warnings() -> None:
    result = verdict(reading("12", date(2026, 10, 25)), [kept("11", date(2026, 9, 25))])
    assert result.error is None and result.flags == ()


def test_a_reading_below_the_previous_one_is_refused() -> None:
    result = verdict(reading("10.9", date(2026, 10, 25)), [kept("11", date(2026, 9, 25))])
    assert result.error is not None and result.error[0] is Code.READING_BELOW_PREVIOUS


def test_the_first_reading_is_compared_with_the_devices_initial_value() -> None:
    result = verdict(reading("9", date(2026, 2, 25)), [])
    assert result.error is not None and result.error[0] is Code.READING_BELOW_PREVIOUS
    assert "initial value" in result.error[1]


def test_a_register_roll_over_is_accepted_and_flagged() -> None:
    result = verdict(reading("00012", date(2026, 10, 25)), [kept("99990", date(2026, 9, 25))], base=("90000",))
    assert result.error is None and Flag.ROLLOVER in result.flags
    assert consumption((Decimal("99990"),), (Decimal("12"),)) == (Decimal("22"), True)


def test_a_large_drop_far_from_the_registers_limit_is_no_roll_over() -> None:
    assert consumption((Decimal("5000"),), (Decimal("12"),)) is None
    assert consumption((Decimal("99990"),), (Decimal("50000"),)) is None  # wraps far too much


def test_consumption_far_above_the_average_is_accepted_with_a_warning() -> None:
    history = [kept("100", date(2026, 7, 25)), kept("110", date(2026, 8, 25)), kept("120", date(2026, 9, 25))]
    normal = verdict(reading("130", date(2026, 10, 25)), history, base=("90",))
    spike = verdict(reading("200", date(2026, 10, 25)), history, base=("90",))
    assert normal.flags == () and spike.error is None and Flag.HIGH_CONSUMPTION in spike.flags


def test_an_overdue_verification_is_accepted_with_a_warning() -> None:
    result = verdict(reading("12", date(2026, 10, 25)), [], verification=date(2026, 10, 1))
    assert result.error is None and result.flags == (Flag.VERIFICATION_OVERDUE,)


def test_archived_future_and_pre_commissioning_readings_are_refused() -> None:
    archived = verdict(reading("12", date(2026, 10, 25)), [], archived=date(2026, 10, 1))
    future = verdict(reading("12", date(2026, 11, 24)), [])
    early = verdict(reading("12", date(2026, 1, 1)), [])
    assert archived.error and archived.error[0] is Code.DEVICE_ARCHIVED
    assert future.error and future.error[0] is Code.READING_FUTURE_DATE
    assert early.error and early.error[0] is Code.READING_BEFORE_COMMISSIONING


def test_a_back_dated_reading_must_not_exceed_the_later_one() -> None:
    result = verdict(reading("15", date(2026, 9, 25)), [kept("11", date(2026, 8, 25))],
                     following=kept("14", date(2026, 10, 25)))
    assert result.error is not None and result.error[0] is Code.READING_BELOW_PREVIOUS
    assert "above the later reading" in result.error[1]


def test_tariff_zones_must_match_the_device() -> None:
    result = verdict(reading(("1100",), date(2026, 10, 25), electric=True), [], electric=True, base=("1000", "500"))
    assert result.error is not None and result.error[0] is Code.READING_RESOURCE_MISMATCH
    both = verdict(reading(("1100", "501"), date(2026, 10, 25), electric=True), [], electric=True,
                   base=("1000", "500"))
    assert both.error is None


def test_next_verification_adds_the_interval_to_the_first_verification() -> None:
    assert next_verification(date(2020, 2, 29), 6) == date(2026, 2, 28)
    assert next_verification(date(2026, 1, 15), None) is None


values = st.decimals(min_value=0, max_value=Decimal("99999999"), places=3, allow_nan=False, allow_infinity=False)


@given(values, values)
def test_consumption_never_accepts_a_drop_that_is_not_a_roll_over(before: Decimal, after: Decimal) -> None:
    step = consumption((before,), (after,))
    if after >= before:
        assert step == (after - before, False)
    elif step is not None:
        used, rolled = step
        assert rolled and used >= 0 and before >= Decimal("0.9") * Decimal(10) ** len(str(int(before)))
