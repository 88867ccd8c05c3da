"""Delegated powers, the rules alone (gateway.domain.powers): what the door decides, when a power ends, who may
grant what, and how the per-object authority check treats data posted under a power."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import authority
from gateway.domain.authority import EASTERNMOST, Mandate, MandateKind
from gateway.domain.model import Organisation, OrgRole
from gateway.domain.powers import (
    FUNCTION_OF_OPERATION,
    Function,
    Power,
    PowerRefusal,
    PowerState,
    door_decision,
    grant_refusal,
    processing_refusal,
    transition_refusal,
)
from gateway.domain.values import FiasHouseGuid, Guid, Inn, Ogrn
from gateway.errors import Code
from gateway.soap.operations import OPERATIONS

A, A2, B, C = (Guid(f"{n}0000000-0000-4000-8000-000000000000") for n in "1234")
HOUSE = FiasHouseGuid("b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c")
NOW = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)


def power(*functions: Function, grantor: Guid = A, holder: Guid = B, state: PowerState = PowerState.ACCEPTED,
          starts_on: date = date(2026, 1, 1), ends_on: date | None = date(2026, 12, 31),
          granted_at: datetime = NOW - timedelta(days=30)) -> Power:
    return Power(Guid.new(), grantor, holder, frozenset(functions or (Function.READINGS,)), starts_on, ends_on, state,
                 granted_at, ended_at=NOW - timedelta(hours=1) if state in (PowerState.RECALLED,
                                                                           PowerState.RENOUNCED) else None)


def org(guid: Guid, role: OrgRole = OrgRole.MANAGEMENT_COMPANY) -> Organisation:
    return Organisation(guid, "test", role, Ogrn("1027700999017"), Inn("7709990015"))


def code(decided: Power | PowerRefusal) -> Code | None:
    return decided.code if isinstance(decided, PowerRefusal) else None


def test_every_operation_a_provider_sends_needs_exactly_one_function() -> None:
    assert set(FUNCTION_OF_OPERATION) == {name for name, operation in OPERATIONS.items() if not operation.roles}


def test_an_operation_of_regulators_or_the_operator_is_never_sent_under_a_power() -> None:
    every_function = power(*Function)
    for name in (name for name, operation in OPERATIONS.items() if operation.roles):
        decided = door_decision(A, B, name, NOW, [every_function])
        assert isinstance(decided, PowerRefusal) and decided.code == Code.POWER_FUNCTION_NOT_COVERED, name


def test_the_door_finds_the_accepted_power_in_force_for_the_operation() -> None:
    given_power = power(Function.READINGS, Function.DEVICES)

    decided = door_decision(A, B, "importMeteringDeviceValues", NOW, [given_power])

    assert decided == given_power


def test_the_door_refuses_each_kind_of_missing_power_with_its_own_code() -> None:
    cases = {
        Code.POWER_NONE: [power(holder=C)],
        Code.POWER_FUNCTION_NOT_COVERED: [power(Function.ACCOUNTS)],
        Code.POWER_NOT_ACCEPTED: [power(state=PowerState.GRANTED)],
        Code.POWER_RECALLED: [power(state=PowerState.RECALLED)],
        Code.POWER_RENOUNCED: [power(state=PowerState.RENOUNCED)],
        Code.POWER_EXPIRED: [power(ends_on=date(2026, 3, 1))],
        Code.POWER_NOT_YET_VALID: [power(starts_on=date(2026, 4, 1))],
    }
    for expected, powers in cases.items():
        assert code(door_decision(A, B, "importMeteringDeviceValues", NOW, powers)) is expected, expected


def test_a_chain_through_a_holder_is_refused_as_re_delegation() -> None:
    held_from_a = power(grantor=A, holder=C)
    passed_on = power(grantor=C, holder=B)

    decided = door_decision(A, B, "importMeteringDeviceValues", NOW, [held_from_a, passed_on])

    assert code(decided) is Code.POWER_REDELEGATED
    assert str(C) in str(decided)


def test_an_ended_power_does_not_hide_a_later_one_in_force() -> None:
    recalled = power(state=PowerState.RECALLED, granted_at=NOW - timedelta(days=60))
    current = power(granted_at=NOW - timedelta(days=1))

    assert door_decision(A, B, "importMeteringDeviceValues", NOW, [recalled, current]) == current


def test_a_power_expires_at_midnight_after_its_last_day_in_utc_plus_12() -> None:
    last_day = power(ends_on=date(2026, 3, 31))
    midnight = datetime(2026, 4, 1, 0, 0, tzinfo=EASTERNMOST)

    assert last_day.expires_at == midnight == datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert last_day.state_at(midnight - timedelta(microseconds=1)) is PowerState.ACCEPTED
    assert last_day.state_at(midnight) is PowerState.EXPIRED
    # 15:00 in Moscow on its last day: UTC+12 is already 1 April, the date the registry gives today's data
    moscow = timezone(timedelta(hours=3))
    assert last_day.state_at(datetime(2026, 3, 31, 14, 59, tzinfo=moscow)) is PowerState.ACCEPTED
    assert last_day.state_at(datetime(2026, 3, 31, 15, 0, tzinfo=moscow)) is PowerState.EXPIRED


@given(st.datetimes(min_value=datetime(2026, 1, 2), max_value=datetime(2027, 12, 30), timezones=st.just(UTC)),
       st.dates(min_value=date(2026, 1, 2), max_value=date(2027, 12, 30)))
def test_a_live_power_is_expired_exactly_from_its_expiry_instant(moment: datetime, last: date) -> None:
    given_power = power(starts_on=date(2026, 1, 1), ends_on=last)
    assert given_power.expires_at is not None

    expired = given_power.state_at(moment) is PowerState.EXPIRED

    assert expired == (moment >= given_power.expires_at)
    assert given_power.in_force(moment) == (not expired)


def test_only_a_live_power_expires() -> None:
    recalled = power(state=PowerState.RECALLED, ends_on=date(2026, 1, 31))

    assert recalled.state_at(NOW) is PowerState.RECALLED


def test_one_holder_per_function_at_a_time() -> None:
    existing = power(Function.READINGS, holder=B, state=PowerState.GRANTED)

    overlapping = grant_refusal(org(A), org(C, OrgRole.OPERATOR), frozenset({Function.READINGS}), date(2026, 6, 1),
                                None, NOW, granted_by_grantor=[existing], held_by_grantor=[])
    after_it = grant_refusal(org(A), org(C, OrgRole.OPERATOR), frozenset({Function.READINGS}), date(2027, 1, 1),
                             None, NOW, granted_by_grantor=[existing], held_by_grantor=[])
    other_function = grant_refusal(org(A), org(C, OrgRole.OPERATOR), frozenset({Function.ACCOUNTS}),
                                   date(2026, 6, 1), None, NOW, granted_by_grantor=[existing], held_by_grantor=[])

    assert overlapping is not None and overlapping.code is Code.POWER_CONFLICT
    assert after_it is None and other_function is None


def test_a_recalled_or_expired_power_frees_its_function() -> None:
    ended = [power(state=PowerState.RECALLED), power(ends_on=date(2026, 2, 28))]

    assert grant_refusal(org(A), org(C, OrgRole.OPERATOR), frozenset({Function.READINGS}), date(2026, 3, 15), None,
                         NOW, granted_by_grantor=ended, held_by_grantor=[]) is None


def test_a_holder_cannot_grant_what_it_holds() -> None:
    held = power(Function.READINGS, grantor=A, holder=B)

    refused = grant_refusal(org(B), org(C, OrgRole.OPERATOR), frozenset({Function.READINGS, Function.DEVICES}),
                            date(2026, 3, 15), None, NOW, granted_by_grantor=[], held_by_grantor=[held])

    assert refused is not None and refused.code is Code.POWER_REDELEGATION


def test_the_parties_of_a_power_must_be_able_to_be_parties() -> None:
    def refused(grantor: Organisation, holder: Organisation) -> Code | None:
        why = grant_refusal(grantor, holder, frozenset({Function.HOUSES}), date(2026, 3, 15), None, NOW,
                            granted_by_grantor=[], held_by_grantor=[])
        return why.code if why else None

    assert refused(org(A), org(A)) is Code.POWER_PARTIES_INVALID
    assert refused(org(B, OrgRole.OPERATOR), org(A)) is Code.POWER_PARTIES_INVALID  # no data of its own
    assert refused(org(B, OrgRole.REGULATOR), org(A)) is Code.POWER_PARTIES_INVALID
    assert refused(org(A), org(B, OrgRole.REGULATOR)) is Code.POWER_PARTIES_INVALID
    assert refused(org(A), org(B, OrgRole.OPERATOR)) is None
    assert refused(org(A), org(A2, OrgRole.MANAGEMENT_COMPANY)) is None  # another provider may hold one


def test_a_period_that_ends_before_it_starts_or_is_over_is_refused() -> None:
    backwards = grant_refusal(org(A), org(B, OrgRole.OPERATOR), frozenset({Function.HOUSES}), date(2026, 5, 1),
                              date(2026, 4, 1), NOW, granted_by_grantor=[], held_by_grantor=[])
    over = grant_refusal(org(A), org(B, OrgRole.OPERATOR), frozenset({Function.HOUSES}), date(2026, 1, 1),
                         date(2026, 3, 14), NOW, granted_by_grantor=[], held_by_grantor=[])

    assert backwards is not None and backwards.code is Code.VALUE_INVALID
    assert over is not None and over.code is Code.VALUE_INVALID


def test_states_change_only_along_their_arrows() -> None:
    granted, accepted = power(state=PowerState.GRANTED), power()
    expired = power(ends_on=date(2026, 3, 1))

    assert transition_refusal(granted, PowerState.ACCEPTED, NOW) is None
    assert transition_refusal(granted, PowerState.RENOUNCED, NOW) is None  # the holder declines
    assert transition_refusal(accepted, PowerState.RECALLED, NOW) is None
    for refused, to in ((accepted, PowerState.ACCEPTED), (power(state=PowerState.RECALLED), PowerState.RENOUNCED),
                        (expired, PowerState.RECALLED), (granted, PowerState.EXPIRED)):
        why = transition_refusal(refused, to, NOW)
        assert why is not None and why.code is Code.POWER_TRANSITION_INVALID, (refused.state, to)


def test_a_recall_or_renunciation_since_acceptance_stops_processing() -> None:
    assert processing_refusal(power(), "importMeteringDeviceValues") is None
    recalled = processing_refusal(power(state=PowerState.RECALLED), "importMeteringDeviceValues")
    renounced = processing_refusal(power(state=PowerState.RENOUNCED), "importMeteringDeviceValues")

    assert recalled is not None and recalled.code is Code.POWER_RECALLED_SINCE_ACCEPTANCE
    assert renounced is not None and renounced.code is Code.POWER_RENOUNCED_SINCE_ACCEPTANCE


def test_under_a_power_the_data_date_must_be_in_its_period() -> None:
    mandates = [Mandate(MandateKind.CONTRACT, A, HOUSE, date(2020, 1, 1), None, Guid.new())]
    grantor = replace(org(A), acting_under=power(starts_on=date(2026, 2, 1), ends_on=date(2026, 2, 28)))

    before = authority.refusal(grantor, HOUSE, date(2026, 1, 31), mandates, "readings")
    inside = authority.refusal(grantor, HOUSE, date(2026, 2, 28), mandates, "readings")
    after = authority.refusal(grantor, HOUSE, date(2026, 3, 1), mandates, "readings")

    assert inside is None
    assert before is not None and before.code is Code.POWER_DATE_NOT_COVERED and "before its first day" in str(before)
    assert after is not None and after.code is Code.POWER_DATE_NOT_COVERED and "after its last day" in str(after)


def test_a_power_carries_functions_never_houses() -> None:
    someone_elses = [Mandate(MandateKind.CONTRACT, A2, HOUSE, date(2020, 1, 1), None, Guid.new())]
    grantor = replace(org(A), acting_under=power())

    refused = authority.refusal(grantor, HOUSE, date(2026, 3, 1), someone_elses, "readings")

    assert refused is not None and refused.code is Code.NO_MANDATE
    assert "a power carries functions, not houses" in refused.text and str(A2) in refused.text
