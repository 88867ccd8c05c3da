"""Account value rules and the numbers the registry gives (ELS, ServiceID), and their official XML."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import ns
from gateway.domain.accounts import (
    Accommodation,
    Account,
    AccountData,
    AccountType,
    Closing,
    PersonPayer,
    StoredAccommodation,
    service_id,
    unified_account_number,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue
from gateway.soap import accounts_xml, results_xml
from gateway.xsd import Service, validate


@given(st.integers(0, 33**8 - 1), st.integers(0, 99).map(lambda r: f"{r:02d}"))
def test_unified_numbers_are_ten_characters_unique_per_serial(serial: int, region: str) -> None:
    number = unified_account_number(region, serial)
    assert len(number) == 10 and number[:2] == region and re.fullmatch(r"[0-9A-Z]{10}", number)
    assert not set(number[2:]) & set("IOQ")
    if serial:
        assert unified_account_number(region, serial - 1) != number


def test_service_ids_extend_the_unified_number_and_are_bounded() -> None:
    assert service_id("45000000AB", 1) == "45000000AB-01"
    assert len(service_id("45000000AB", 99)) == 13
    for bad in (0, 100):
        with pytest.raises(InvalidValue):
            service_id("45000000AB", bad)
    with pytest.raises(InvalidValue):
        unified_account_number("45", 33**8)


def test_an_account_pays_for_named_places_once_each() -> None:
    place = Accommodation(premises_guid=Guid.new())
    with pytest.raises(InvalidValue, match="at least one"):
        AccountData(AccountType.MANAGEMENT, None, ())
    with pytest.raises(InvalidValue, match="twice"):
        AccountData(AccountType.MANAGEMENT, None, (place, place))
    with pytest.raises(InvalidValue, match="exactly one"):
        Accommodation()
    with pytest.raises(InvalidValue, match="between 0 and 100"):
        Accommodation(premises_guid=Guid.new(), share_percent=Decimal("100.5"))


def test_an_exported_account_is_valid_against_the_official_schema() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    places = (StoredAccommodation(Accommodation(premises_guid=Guid.new(), share_percent=Decimal("50")),
                                  "45000000AB-01"),
              StoredAccommodation(Accommodation(fias_house_guid=FiasHouseGuid(str(Guid.new()))), "45000000AB-02"))
    data = AccountData(AccountType.MANAGEMENT, PersonPayer("Иванов", "Иван", snils="12345678901"),
                       tuple(p.accommodation for p in places), account_number="100500", living_persons=3,
                       total_square=Decimal("54.3000"), is_renter=True,
                       closed=Closing(NsiRef("1", Guid.new()), date(2026, 11, 1), "продажа"))
    root = results_xml.state_result(ns.HM, "11.0.0.1", Guid.new(), 3)
    accounts_xml.encode_export_account(root, Account(Guid.new(), "45000000AB", data, Guid.new(), now, now, places))
    validate(root, Service.HOUSE_MANAGEMENT)
