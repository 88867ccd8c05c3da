"""Cell checks of the push layouts: what a billing program writes is read, what is wrong is named."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.codes import Local, RowError
from providers.layouts import LAYOUTS, Column, missing_columns, parse_cell, parse_row
from providers.records import NsiRef

NSI = {2: {"1": "2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a"}}
DATE, DECIMAL, GUID = Column("date", "date", True), Column("value", "decimal"), Column("device_root_guid", "guid")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_a_date_reads_the_same_in_iso_and_russian_order(day: date) -> None:
    assert parse_cell(DATE, day.isoformat(), NSI) == day
    assert parse_cell(DATE, day.strftime("%d.%m.%Y"), NSI) == day


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False))
def test_a_decimal_reads_with_a_point_or_a_comma(number: Decimal) -> None:
    written = format(number, "f")
    assert parse_cell(DECIMAL, written, NSI) == number
    assert parse_cell(DECIMAL, written.replace(".", ","), NSI) == number


@given(st.uuids())
def test_a_guid_is_read_in_any_case(guid: uuid.UUID) -> None:
    assert parse_cell(GUID, str(guid).upper(), NSI) == str(guid)


@given(st.text(max_size=40).filter(lambda s: s.strip() != ""))
def test_anything_else_in_a_guid_column_is_refused_with_its_code(text: str) -> None:
    try:
        uuid.UUID(text.strip())
        is_guid = len(text.strip()) == 36
    except ValueError:
        is_guid = False
    if is_guid:
        return
    with pytest.raises(RowError) as refused:
        parse_cell(GUID, text, NSI)
    assert refused.value.code is Local.VALUE_INVALID and refused.value.column == "device_root_guid"


@pytest.mark.parametrize("written", ["31.02.2026", "2026-13-01", "25/09/2026", "вчера"])
def test_a_bad_date_is_named_with_the_expected_forms(written: str) -> None:
    with pytest.raises(RowError, match="YYYY-MM-DD or DD.MM.YYYY") as refused:
        parse_cell(DATE, written, NSI)
    assert refused.value.code is Local.VALUE_INVALID


def test_a_value_over_the_schema_length_is_refused_before_anything_else() -> None:
    surname = LAYOUTS["accounts"].column("surname")

    with pytest.raises(RowError, match="61 characters, at most 60") as refused:
        parse_cell(surname, "Я" * 61, NSI)

    assert refused.value.code is Local.VALUE_TOO_LONG


def test_an_nsi_code_is_resolved_to_its_guid_or_refused() -> None:
    resource = LAYOUTS["readings"].column("resource")

    assert parse_cell(resource, "1", NSI) == NsiRef("1", NSI[2]["1"])
    with pytest.raises(RowError, match="not in NSI 2") as refused:
        parse_cell(resource, "77", NSI)
    assert refused.value.code is Local.NSI_UNKNOWN


def test_a_row_reports_every_wrong_cell_not_only_the_first() -> None:
    layout = LAYOUTS["readings"]
    header = ["device_root_guid", "date", "resource", "value"]

    values, errors = parse_row(layout, {n: i for i, n in enumerate(header)}, ["not-a-guid", "", "1", "1O,5"], NSI)

    assert [(e.column, e.code) for e in errors] == [("device_root_guid", Local.VALUE_INVALID),
                                                    ("date", Local.VALUE_MISSING), ("value", Local.VALUE_INVALID)]
    assert values["resource"] == NsiRef("1", NSI[2]["1"])


def test_a_header_without_a_required_column_or_either_of_a_pair_is_named() -> None:
    assert missing_columns(LAYOUTS["readings"], ["fias_house_guid", "value"]) == [
        "date", "device_root_guid|device_number"]
    assert missing_columns(LAYOUTS["readings"], ["device_number", "date"]) == []


def test_yes_no_and_listed_values_take_russian_spellings() -> None:
    layout = LAYOUTS["devices"]

    assert parse_cell(layout.column("remote"), "да", NSI) is True
    assert parse_cell(layout.column("remote"), "0", NSI) is False
    assert parse_cell(layout.column("device_kind"), "ОДПУ", NSI) == "ApartmentHouseDevice"
    with pytest.raises(RowError, match="is not one of"):
        parse_cell(layout.column("device_kind"), "газовый", NSI)
