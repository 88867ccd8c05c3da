"""Value objects validate themselves (DESIGN §3; CONVENTIONS: invalid values cannot travel inward)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.values import (
    CadastralNumber,
    FiasHouseGuid,
    Guid,
    Inn,
    InvalidValue,
    Kpp,
    Ogrn,
    Oktmo,
    area,
)
from gateway.errors import Code


@pytest.mark.parametrize("number", [
    "77:01:0001001:1042", "50:21:0080104:311", "01:01:000001:1", " 77:02:0018004:2101 ",
])
def test_well_formed_cadastral_numbers_are_accepted(number: str) -> None:
    assert str(CadastralNumber(number)) == number.strip()


@pytest.mark.parametrize("number", [
    "77:01:12:5", "77-01-0001001-1042", "7:01:0001001:1", "77:01:0001001:", "00:01:0001001:5",
    "77:01:0001001:0", "77:01:00010011:5", "", "77:01:0001001:1042:1", "７７:01:0001001:1",
])
def test_malformed_cadastral_number_is_refused_with_its_code(number: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        CadastralNumber(number)
    assert refused.value.code is Code.CADASTRAL_NUMBER_INVALID
    assert repr(number) in str(refused.value)


cadastral_parts = st.tuples(
    st.integers(1, 99), st.integers(0, 99), st.integers(0, 9_999_999).map(lambda q: f"{q:07d}"),
    st.integers(1, 9_999_999_999),
)


@given(cadastral_parts)
def test_every_number_of_the_register_format_is_accepted(parts: tuple[int, int, str, int]) -> None:
    district, area_, quarter, number = parts
    text = f"{district:02d}:{area_:02d}:{quarter}:{number}"
    assert CadastralNumber(text).value == text


@given(st.text(max_size=40))
def test_any_text_is_either_a_cadastral_number_or_a_coded_refusal(text: str) -> None:
    try:
        CadastralNumber(text)
    except InvalidValue as refused:
        assert refused.code is Code.CADASTRAL_NUMBER_INVALID


def test_ogrn_and_inn_check_digits() -> None:
    Ogrn("1027700999017")
    Inn("7709990015")
    Inn("500100732259")  # a 12-digit individual's INN with both check digits right
    for bad in ("1027700999018", "102770099901", "10277009990170"):
        with pytest.raises(InvalidValue):
            Ogrn(bad)
    for bad in ("7709990016", "500100732258", "77099900", "77O9990015"):
        with pytest.raises(InvalidValue):
            Inn(bad)


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_ogrn_accepts_exactly_the_numbers_whose_check_digit_fits(digits: str) -> None:
    fits = int(digits[:-1]) % 11 % 10 == int(digits[-1])
    try:
        Ogrn(digits)
        assert fits
    except InvalidValue:
        assert not fits


def test_guids_are_normalised_to_lower_case_and_need_the_dashed_form() -> None:
    assert str(Guid("6E5D4C3B-2A19-4087-B6A5-F4E3D2C1B0A9")) == "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
    with pytest.raises(InvalidValue):
        Guid("6e5d4c3b2a194087b6a5f4e3d2c1b0a9")
    with pytest.raises(InvalidValue):
        FiasHouseGuid("not-a-guid")


def test_kpp_oktmo_and_area() -> None:
    Kpp("770901001")
    Oktmo("45362000")
    Oktmo("45362000001")
    with pytest.raises(InvalidValue):
        Kpp("77090100")
    with pytest.raises(InvalidValue):
        Oktmo("4536200")
    assert area("54.3", "TotalArea") == Decimal("54.3")
    for bad in ("-1", "NaN", "1.00001", "abc"):
        with pytest.raises(InvalidValue):
            area(bad, "TotalArea")


def test_ordered_guids_are_version_7_valid_and_sort_by_the_millisecond_they_were_made() -> None:
    import time
    import uuid

    first = Guid.ordered()
    time.sleep(0.002)
    second = Guid.ordered()
    for made in (first, second):
        parsed = uuid.UUID(str(made))
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert Guid(str(made)) == made  # what the registry writes, it can read back as a GUID
    assert str(first)[:13] < str(second)[:13]  # the 48-bit millisecond prefix
    assert len({str(Guid.ordered()) for _ in range(10_000)}) == 10_000
