"""Requests the SDK builds conform to the official XSD; the direct readings builder writes what zeep writes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from providers import builders
from providers.records import Account, AccountType, NsiRef, Person, Reading

WATER = NsiRef("1", "2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a")
values = st.decimals(min_value=Decimal(0), max_value=Decimal("999999999"), places=3, allow_nan=False)
readings = st.builds(
    Reading, device_root_guid=st.uuids().map(str),
    on=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    resource=st.just(WATER), value=values, zones=st.just(()), control=st.booleans(),
    transport_guid=st.uuids().map(str)) | st.builds(
    Reading, device_root_guid=st.uuids().map(str),
    on=st.dates(min_value=date(2020, 1, 1), max_value=date(2050, 12, 31)),
    zones=st.lists(values, min_size=1, max_size=3).map(tuple), control=st.booleans(),
    transport_guid=st.uuids().map(str))


def _c14n(element: etree._Element) -> bytes:
    return bytes(etree.tostring(element, method="c14n", exclusive=True))


@settings(max_examples=40, deadline=None)
@given(st.lists(readings, min_size=1, max_size=8))
def test_the_direct_readings_builder_writes_what_zeep_writes(batch: list[Reading]) -> None:
    assert _c14n(builders.readings_request(batch)) == _c14n(builders.readings_request_zeep(batch))


def test_a_request_over_its_limit_is_refused_before_it_is_built() -> None:
    reading = Reading(str(uuid.uuid4()), date(2026, 9, 25), WATER, Decimal(1))

    with pytest.raises(builders.RequestInvalid, match="at most 1000 objects, not 1001"):
        builders.readings_request([reading] * 1001)


def test_a_value_the_schema_refuses_names_its_element() -> None:
    account = Account(AccountType.UO, Person("Иванов", "Иван"), premises_guid=str(uuid.uuid4()),
                      account_number="1" * 31)

    with pytest.raises(builders.RequestInvalid) as refused:
        builders.accounts_request([account])

    assert refused.value.element == "AccountNumber" and "maxLength" in str(refused.value)
