"""importMeteringDeviceValuesRequest → readings: every field, every malformed item answered for itself."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.commands import Unsupported
from gateway.domain.metering import InvalidValueItem, ReadingKind, ReadingToImport
from gateway.soap.readings_xml import decode_import_readings
from gateway.xmlparse import parse_untrusted

NS = ('xmlns:dm="http://dom.gosuslugi.ru/schema/integration/device-metering/" '
      'xmlns:mdb="http://dom.gosuslugi.ru/schema/integration/metering-device-base/" '
      'xmlns:nsi="http://dom.gosuslugi.ru/schema/integration/nsi-base/" '
      'xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/"')
ROOT = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
WATER = '<mdb:MunicipalResource><nsi:Code>1</nsi:Code><nsi:GUID>2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a</nsi:GUID>' \
        '</mdb:MunicipalResource>'


def _request(*devices: str) -> bytes:
    return (f'<dm:importMeteringDeviceValuesRequest {NS} Id="signed-data-container" base:version="10.0.1.1">'
            f'{"".join(devices)}</dm:importMeteringDeviceValuesRequest>').encode()


def _device(values: str, kind: str = "OneRateDeviceValue") -> str:
    return (f"<dm:MeteringDevicesValues><dm:MeteringDeviceRootGUID>{ROOT}</dm:MeteringDeviceRootGUID>"
            f"<dm:{kind}>{values}</dm:{kind}></dm:MeteringDevicesValues>")


def _value(body: str, element: str = "CurrentValue", transport: str | None = None) -> str:
    return (f"<dm:{element}>{body}<base:TransportGUID>{transport or uuid.uuid4()}</base:TransportGUID>"
            f"</dm:{element}>")


def _items(*devices: str) -> tuple[object, ...]:
    return decode_import_readings(parse_untrusted(_request(*devices))).items


def test_a_one_rate_reading_with_its_period() -> None:
    transport = str(uuid.uuid4())
    body = (f"{WATER}<mdb:MeteringValue>123.4567</mdb:MeteringValue><!-- a comment is no field -->"
            "<dm:DateValue>2026-03-25</dm:DateValue>"
            "<dm:Period><base:Month>3</base:Month><base:Year>2026</base:Year></dm:Period>")
    (item,) = _items(_device(_value(body, transport=transport)))
    assert item == ReadingToImport(item.transport_guid, item.device_root, None, ReadingKind.CURRENT, "1",
                                   (Decimal("123.4567"),), date(2026, 3, 25), "2026-03")
    assert str(item.transport_guid) == transport and str(item.device_root) == ROOT


def test_electric_zones_and_a_control_value() -> None:
    zones = ("<mdb:MeteringValueT1>10</mdb:MeteringValueT1><mdb:MeteringValueT2>20</mdb:MeteringValueT2>"
             "<mdb:MeteringValueT3>30</mdb:MeteringValueT3><dm:DateValue>2026-04-20</dm:DateValue>")
    current, control = _items(_device(_value(zones) + _value(zones, "ControlValue"), "ElectricDeviceValue"))
    assert isinstance(current, ReadingToImport) and isinstance(control, ReadingToImport)
    assert current.values == (Decimal(10), Decimal(20), Decimal(30)) and current.resource_code is None
    assert control.kind is ReadingKind.CONTROL and control.period is None


def test_each_malformed_reading_is_refused_alone() -> None:
    gap = ("<mdb:MeteringValueT1>10</mdb:MeteringValueT1><mdb:MeteringValueT3>30</mdb:MeteringValueT3>"
           "<dm:DateValue>2026-04-20</dm:DateValue>")
    no_resource = "<mdb:MeteringValue>1</mdb:MeteringValue><dm:DateValue>2026-04-20</dm:DateValue>"
    half_period = (f"{WATER}<mdb:MeteringValue>1</mdb:MeteringValue><dm:DateValue>2026-04-20</dm:DateValue>"
                   "<dm:Period><base:Year>2026</base:Year></dm:Period>")
    good = f"{WATER}<mdb:MeteringValue>1</mdb:MeteringValue><dm:DateValue>2026-04-20</dm:DateValue>"
    items = _items(_device(_value(gap), "ElectricDeviceValue"), _device(_value(no_resource)),
                   _device(_value(half_period)), _device(_value(good)),
                   _device(_value(good), "VolumeDeviceValue"))
    assert [str(i.error) for i in items[:3] if isinstance(i, InvalidValueItem)] == [
        "MeteringValueT3 without MeteringValueT2", "MunicipalResource is missing", "Period needs Year and Month"]
    assert isinstance(items[3], ReadingToImport)
    assert isinstance(items[4], Unsupported)


@given(value=st.decimals(min_value=0, max_value=Decimal("999999999999999.9999999"), places=7),
       on=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_value_and_date_come_back_as_sent(value: Decimal, on: date) -> None:
    body = f"{WATER}<mdb:MeteringValue>{value}</mdb:MeteringValue><dm:DateValue>{on.isoformat()}</dm:DateValue>"
    (item,) = _items(_device(_value(body)))
    assert isinstance(item, ReadingToImport)
    assert item.values == (value,) and item.on == on and item.month == f"{on:%Y-%m}"
