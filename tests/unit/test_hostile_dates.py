"""Hostile date values (security finding 6): every date the registry reasons with is held to a plausible
window, so a verification in year 9999 or a commissioning in year 0001 is one coded per-object error
(SRV001013) and never an internal failure (SRV999999) that kills the message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.domain.values import EARLIEST_DATE, LATEST_DATE, InvalidValue
from gateway.errors import Code
from gateway.soap import accounts_xml, contracts_xml, devices_xml, oss_xml, readings_xml
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
DM = "http://dom.gosuslugi.ru/schema/integration/device-metering/"



def _file(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


#: (request, its service, the decoder, the local names of every date or moment it reads)
CASES: dict[str, tuple[bytes, Service, Callable[[etree._Element], Any], tuple[str, ...]]] = {
    "importContractData": (_file("contracts/sever-management.xml"), Service.HOUSE_MANAGEMENT,
                           contracts_xml.decode_import_contracts,
                           ("SigningDate", "EffectiveDate", "PlanDateComptetion", "StartDate")),
    "importCharterData": (_file("contracts/lipovaya-7-charter.xml"), Service.HOUSE_MANAGEMENT,
                          contracts_xml.decode_import_charter, ("Date", "StartDate")),
    "importSupplyResourceContractData": (_file("contracts/vodokanal-supply.xml"), Service.HOUSE_MANAGEMENT,
                                         contracts_xml.decode_import_supply,
                                         ("SigningDate", "EffectiveDate", "StartSupplyDate")),
    "importAccountData": (_file("requests/account-closed.xml"), Service.HOUSE_MANAGEMENT,
                          accounts_xml.decode_import_accounts, ("CloseDate",)),
    "importMeteringDeviceData": (_file("requests/devices-with-dates.xml"), Service.HOUSE_MANAGEMENT,
                                 devices_xml.decode_import_devices,
                                 ("InstallationDate", "CommissioningDate", "FirstVerificationDate", "FactorySealDate",
                                  "VerificationDate")),
    "importMeteringDeviceValues": (_file("requests/readings-with-verification.xml"), Service.DEVICE_METERING,
                                   readings_xml.decode_import_readings,
                                   ("DateValue", "StartDateValue", "EndDateValue", "SealDate")),
    "importVotingProtocol": (_file("oss/sever-1-protocol.xml"), Service.HOUSE_MANAGEMENT,
                             oss_xml.decode_import_protocol, ("ProtocolDate",)),
    "importVotingMessage": (_file("oss/sever-1-evoting-notice.xml"), Service.HOUSE_MANAGEMENT,
                            oss_xml.decode_import_notice, ("MessageDate", "EVotingDateBegin", "EVotingDateEnd")),
}


def _dates_inside(value: Any) -> Iterator[date]:
    """Every date or moment anywhere in a decoded command (dataclasses, tuples, dicts)."""
    if isinstance(value, date):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _dates_inside(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _dates_inside(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _dates_inside(item)


def _with(request: bytes, locals_: tuple[str, ...], value: str) -> etree._Element:
    root = parse_untrusted(request)
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in locals_:
            element.text = value if "T" in (element.text or "") or "T" not in value else value.split("T")[0]
    return root


@pytest.mark.parametrize("operation", sorted(CASES))
def test_the_templates_are_valid_requests(operation: str) -> None:
    request, service, decode, _ = CASES[operation]
    validate(parse_untrusted(request), service)
    assert not [d for d in _dates_inside(decode(parse_untrusted(request)))
                if not EARLIEST_DATE <= (d.date() if isinstance(d, datetime) else d) <= LATEST_DATE]


#: any xs:date or xs:dateTime the schema lets through: years 0001 to 9999, and zones
lexical_dates = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda moment: moment.replace(microsecond=0).isoformat() + "+03:00"),
    st.sampled_from(["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01", "9999-12-31T23:59:59+14:00",
                     "0001-01-01T00:00:00-12:00", "2026-02-29", "2026-13-01"]),
)


@pytest.mark.parametrize("operation", sorted(CASES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=lexical_dates)
def test_no_implausible_date_travels_inward_from_any_import(operation: str, value: str) -> None:
    request, _, decode, locals_ = CASES[operation]
    decoded = decode(_with(request, locals_, value))  # never raises: a bad value is one object's coded error
    for item in _dates_inside(decoded):
        day = item.date() if isinstance(item, datetime) else item
        assert EARLIEST_DATE <= day <= LATEST_DATE, (operation, value, item)
    errors = [e for e in _errors(decoded)]
    assert all(e.code in {Code.DATE_IMPLAUSIBLE, Code.VALUE_INVALID} for e in errors), errors


def _errors(value: Any) -> Iterator[InvalidValue]:
    if isinstance(value, InvalidValue):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _errors(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _errors(item)


@pytest.mark.parametrize("operation, element, value", [
    ("importMeteringDeviceData", "FirstVerificationDate", "9999-12-31"),  # the audit's message-killer
    ("importMeteringDeviceData", "CommissioningDate", "0001-01-01"),  # the audit's accepted absurdity
    ("importMeteringDeviceValues", "SealDate", "9999-01-01"),
    ("importContractData", "EffectiveDate", "1812-09-07"),
])
def test_an_implausible_date_is_refused_with_its_own_code(operation: str, element: str, value: str) -> None:
    request, _, decode, _ = CASES[operation]
    errors = list(_errors(decode(_with(request, (element,), value))))
    assert errors and errors[0].code is Code.DATE_IMPLAUSIBLE
    assert value in str(errors[0]) and element in str(errors[0])
