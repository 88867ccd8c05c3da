"""Contracts, metering devices and readings end to end, over zeep clients built from the served WSDLs.

A management company's contract gives it its houses; it registers devices for flats on house-management
and posts readings on the device-metering service's own endpoint; every rule answers its own code; every
stored getStateResult is valid against the official schema.
"""

from __future__ import annotations

import copy
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.bootstrap import Gateway
from gateway.registry.tables import messages, meter_readings, metering_devices
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate
from providers.client import GisClient, outcome
from tests.conftest import management_contract as contract_for
from tests.e2e.test_accounts_flow import (
    HOA,
    LIPOVAYA,
    MC,
    REGULATOR,
    RSO,
    SEVER_1,
    account,
    client,
    flats,
    import_accounts,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
COLD_WATER = {"Code": "1", "GUID": "2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a"}
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
TODAY = date.today()


def dm_client(server: EmbeddedServer, pki, org: str) -> GisClient:  # type: ignore[no-untyped-def]
    issued = pki.by_org[org]
    return GisClient(server.url, org_guid=org, key=issued.key, cert=issued.cert, gateway_cert=pki.gateway.cert,
                     service="device-metering", timeout=10)


def nsi_guid(registry: int, code: str) -> str:
    import tomllib

    raw = tomllib.loads((FIXTURES / "nsi" / f"nsi-{registry:03d}.toml").read_text(encoding="utf-8"))
    return next(i["guid"] for i in raw["item"] if i["code"] == code)


def water_meter(number: str, premises: str, account_guid: str, *, base: str = "10",
                resource: dict | None = None) -> dict:  # type: ignore[type-arg]
    return {"TransportGUID": str(uuid.uuid4()), "DeviceDataToCreate": {
        "BasicChatacteristicts": {
            "MeteringDeviceNumber": number, "MeteringDeviceModel": "ВСХ-15", "InstallationDate": date(2026, 1, 10),
            "CommissioningDate": date(2026, 1, 15), "RemoteMeteringMode": False,
            "FirstVerificationDate": date(2026, 1, 15),
            "VerificationInterval": {"Code": "6", "GUID": nsi_guid(16, "6")},
            "TemperatureSensor": False, "PressureSensor": False,
            "ResidentialPremiseDevice": {"PremiseGUID": [premises], "AccountGUID": [account_guid]}},
        "NotLinkedWithMetering": True,
        "MunicipalResourceNotEnergy": [{"MunicipalResource": resource or COLD_WATER, "MeteringValue": base}]}}


def electricity_meter(number: str, account_guid: str) -> dict:  # type: ignore[type-arg]
    return {"TransportGUID": str(uuid.uuid4()), "DeviceDataToCreate": {
        "BasicChatacteristicts": {
            "MeteringDeviceNumber": number, "CommissioningDate": date(2026, 1, 15), "RemoteMeteringMode": True,
            "TemperatureSensor": False, "PressureSensor": False,
            "ApartmentHouseDevice": {"FIASHouseGuid": [SEVER_1], "AccountGUID": [account_guid]}},
        "NotLinkedWithMetering": True,
        "MunicipalResourceEnergy": {"MeteringValueT1": "1000", "MeteringValueT2": "500"}}}


def import_devices(provider: GisClient, devices: list[dict], house: str = SEVER_1):  # type: ignore[no-untyped-def,type-arg]
    guid = provider.send("importMeteringDeviceData", {"FIASHouseGuid": house, "MeteringDevice": devices,
                                                      "Id": "signed-data-container", "version": "11.1.0.8"})
    state = provider.wait(guid, timeout=30)
    return outcome(guid, state), state


def water(value: str, on: date, *, resource: dict | None = None, transport: str | None = None) -> dict:  # type: ignore[type-arg]
    return {"MunicipalResource": resource or COLD_WATER, "MeteringValue": value, "DateValue": on,
            "TransportGUID": transport or str(uuid.uuid4()), "Period": period(on)}


def period(on: date) -> dict:  # type: ignore[type-arg]
    """zeep wants Period wherever the schema offers it (an optional sequence holding a required element)."""
    return {"Year": on.year, "Month": on.month}


def send_readings(provider: GisClient, values: list[dict]):  # type: ignore[no-untyped-def,type-arg]
    guid = provider.send("importMeteringDeviceValues", {"MeteringDevicesValues": values,
                                                        "Id": "signed-data-container", "version": "10.0.1.1"})
    return outcome(guid, provider.wait(guid, timeout=30))


def codes(result) -> list[str | None]:  # type: ignore[no-untyped-def]
    return [o.error_code for o in result.objects]


def assert_results_are_schema_valid(gateway: Gateway) -> None:
    """Every getStateResult the worker stored conforms to its service's official schema."""
    with gateway.engine.connect() as connection:
        rows = connection.execute(select(messages.c.service, messages.c.result)
                                  .where(messages.c.result.is_not(None))).all()
    for service, result in rows:
        validate(parse_untrusted(result), Service.DEVICE_METERING if "Metering" in service
                 else Service.RAP if service == "RapServiceAsync"
                 else Service.COMPLIANCE if service == "ComplianceServiceAsync" else Service.HOUSE_MANAGEMENT)


@pytest.fixture
def registered(server: EmbeddedServer, live_worker, pki):  # type: ignore[no-untyped-def]
    """Sever-1 posted with two accounts; a cold-water meter in flat 1 and a two-zone common-house meter."""
    mc = client(server, pki, MC)
    mc.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)
    flat = flats(mc, SEVER_1)
    _, state = import_accounts(mc, [account(flat["1"], "Иванов"), account(flat["2"], "Петров")])
    accounts = [c.GUID for c in state.ImportResult[0].CommonResult]
    result, _ = import_devices(mc, [water_meter("ХВ-001", flat["1"], accounts[0]),
                                    electricity_meter("ЭЛ-ОДПУ-1", accounts[0])])
    assert codes(result) == [None, None], result
    return mc, flat, accounts, result.objects


def test_devices_are_registered_exported_and_refused_for_their_own_reasons(  # type: ignore[no-untyped-def]
        registered, server: EmbeddedServer, pki, gateway: Gateway) -> None:
    mc, flat, accounts, devices = registered
    assert all(d.unique_number and d.unique_number.startswith("ПУ-") for d in devices)
    unknown_resource = {"Code": "77", "GUID": str(uuid.uuid4())}
    result, _ = import_devices(mc, [
        water_meter("ХВ-001", flat["1"], accounts[0]),  # same number, same resource, same house
        water_meter("ХВ-002", flat["2"], accounts[1], resource=unknown_resource),
        water_meter("ХВ-003", str(uuid.uuid4()), accounts[1]),  # no such premises
        water_meter("ХВ-004", flat["2"], str(uuid.uuid4())),  # no such account
        water_meter("ХВ-005", flat["2"], accounts[1]),
    ])
    assert codes(result) == ["SRV003006", "SRV001010", "SRV001008", "SRV001009", None]
    hoa = client(server, pki, HOA)
    outside, _ = import_devices(hoa, [water_meter("ХВ-900", flat["3"], accounts[0])])
    assert codes(outside) == ["SRV002002"]  # the HOA has no contract for the MC's house

    guid = mc.send("exportMeteringDeviceData", {"FIASHouseGuid": SEVER_1, "Id": "signed-data-container",
                                                "version": "14.8.0.1"})
    exported = mc.wait(guid, timeout=30).exportMeteringDeviceDataResult
    numbers = sorted(d.BasicChatacteristicts.MeteringDeviceNumber for d in exported)
    assert numbers == ["ХВ-001", "ХВ-005", "ЭЛ-ОДПУ-1"]
    meter = next(d for d in exported if d.BasicChatacteristicts.MeteringDeviceNumber == "ХВ-001")
    assert meter.StatusRootDoc == "Active" and meter.VersionNumber == 1
    assert meter.BasicChatacteristicts.ResidentialPremiseDevice.PremiseGUID == [flat["1"]]
    assert meter.MunicipalResourceNotEnergy[0].MunicipalResource.Code == "1"
    assert_results_are_schema_valid(gateway)


def test_readings_follow_the_rules_and_keep_replaced_values_as_versions(  # type: ignore[no-untyped-def]
        registered, server: EmbeddedServer, pki, gateway: Gateway) -> None:
    mc, flat, accounts, devices = registered
    metering = dm_client(server, pki, MC)
    meter_root = devices[0].guid  # CommonResult/GUID is the version; root from the export below
    guid = mc.send("exportMeteringDeviceData", {"MeteringDeviceVersionGUID": meter_root,
                                                "Id": "signed-data-container", "version": "14.8.0.1"})
    water_root = mc.wait(guid, timeout=30).exportMeteringDeviceDataResult[0].MeteringDeviceRootGUID
    guid = mc.send("exportMeteringDeviceData", {"MeteringDeviceVersionGUID": devices[1].guid,
                                                "Id": "signed-data-container", "version": "14.8.0.1"})
    power_root = mc.wait(guid, timeout=30).exportMeteringDeviceDataResult[0].MeteringDeviceRootGUID
    september, october = date(2026, 9, 25), date(2026, 10, 25)

    first = send_readings(metering, [
        {"MeteringDeviceRootGUID": water_root, "OneRateDeviceValue": {"CurrentValue": [water("11.5", september)]}},
        {"MeteringDeviceRootGUID": power_root, "ElectricDeviceValue": {"CurrentValue": {
            "MeteringValueT1": "1100", "MeteringValueT2": "540", "DateValue": september,
            "TransportGUID": str(uuid.uuid4()), "Period": period(september)}}},
    ])
    assert codes(first) == [None, None]
    second = send_readings(metering, [
        {"MeteringDeviceRootGUID": water_root, "OneRateDeviceValue": {"CurrentValue": [water("12.0", october)]}},
        {"MeteringDeviceRootGUID": power_root, "ElectricDeviceValue": {"CurrentValue": {
            "MeteringValueT1": "1090", "MeteringValueT2": "560", "DateValue": october,  # T1 went backwards
            "TransportGUID": str(uuid.uuid4()), "Period": period(october)}}},
        {"MeteringDeviceRootGUID": water_root, "OneRateDeviceValue": {"CurrentValue": [
            water("13", TODAY + timedelta(days=40))]}},  # in the future
        {"MeteringDeviceRootGUID": water_root, "OneRateDeviceValue": {"CurrentValue": [
            water("13", october, resource={"Code": "2", "GUID": nsi_guid(2, "2")})]}},  # hot water: not measured
        {"MeteringDeviceRootGUID": str(uuid.uuid4()), "OneRateDeviceValue": {"CurrentValue": [water("1", october)]}},
    ])
    assert codes(second) == [None, "SRV003003", "SRV003004", "SRV003005", "SRV003001"]
    below = send_readings(metering, [{"MeteringDeviceRootGUID": water_root, "OneRateDeviceValue": {
        "CurrentValue": [water("11.9", TODAY)]}}])
    assert codes(below) == ["SRV003003"] and "below the previous reading" in (below.objects[0].description or "")
    # October sent again: the new value is kept, the old one stays as a superseded version
    again = send_readings(metering, [{"MeteringDeviceRootGUID": water_root, "OneRateDeviceValue": {
        "CurrentValue": [water("12.4", october)]}}])
    assert codes(again) == [None]
    outsider = send_readings(dm_client(server, pki, HOA), [{"MeteringDeviceRootGUID": water_root,
                                                            "OneRateDeviceValue": {"CurrentValue": [
                                                                water("12.6", TODAY)]}}])
    assert codes(outsider) == ["SRV002002"]
    # the water utility supplies the house under its supply contract: it may post the meter's readings
    supplier = send_readings(dm_client(server, pki, RSO), [{"MeteringDeviceRootGUID": water_root,
                                                            "OneRateDeviceValue": {"CurrentValue": [
                                                                water("12.6", TODAY)]}}])
    assert codes(supplier) == [None]

    guid = metering.send("exportMeteringDeviceHistory", {
        "FIASHouseGuid": [SEVER_1], "MeteringDeviceRootGUID": [water_root, power_root],
        "Id": "signed-data-container", "version": "10.0.1.1"})
    history = {h.MeteringDeviceRootGUID: h for h in metering.wait(guid, timeout=30).exportMeteringDeviceHistoryResult}
    water_values = [(str(v.DateValue.date()), str(v.MeteringValue))
                    for v in history[water_root].OneRateDeviceValue.Values.CurrentValue]
    assert water_values[:2] == [("2026-09-25", "11.5"), ("2026-10-25", "12.4")]
    assert water_values[2:] == [(str(TODAY), "12.6")]
    power = history[power_root].ElectricDeviceValue.Values.CurrentValue
    assert [(v.MeteringValueT1, v.MeteringValueT2) for v in power] == [("1100", "540")]
    with gateway.engine.connect() as connection:
        kept = connection.execute(select(meter_readings.c.v1, meter_readings.c.superseded_at)
                                  .where(meter_readings.c.period == "2026-10")
                                  .order_by(meter_readings.c.id)).all()
    assert [(str(v.normalize()), s is not None) for v, s in kept] == [("12", True), ("12.4", False)]
    assert_results_are_schema_valid(gateway)


def test_an_archived_device_takes_no_readings(registered, server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    mc, _, _, devices = registered
    archive = {"TransportGUID": str(uuid.uuid4()), "DeviceDataToUpdate": {
        "MeteringDeviceVersionGUID": devices[0].guid,
        "ArchiveDevice": {"ArchivingReason": {"Code": "1", "GUID": nsi_guid(21, "1")}}}}
    result, _ = import_devices(mc, [archive])
    assert codes(result) == [None]
    refused = send_readings(dm_client(server, pki, MC), [{"MeteringDeviceVersionGUID": result.objects[0].guid,
                                                          "OneRateDeviceValue": {"CurrentValue": [
                                                              water("11", TODAY)]}}])
    # the archived device's new version GUID finds it; it is archived
    assert codes(refused) == ["SRV003002"]
    guid = mc.send("exportMeteringDeviceData", {"FIASHouseGuid": SEVER_1, "SearchArchived": True,
                                                "Id": "signed-data-container", "version": "14.8.0.1"})
    archived = mc.wait(guid, timeout=30).exportMeteringDeviceDataResult
    assert [(d.BasicChatacteristicts.MeteringDeviceNumber, d.StatusRootDoc, d.VersionNumber) for d in archived] == \
        [("ХВ-001", "Archival", 2)]


def test_contracts_give_and_take_authority(server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    mc, hoa, rso = client(server, pki, MC), client(server, pki, HOA), client(server, pki, RSO)
    new_house = str(uuid.uuid4())
    guid = mc.send("importContractData", mc.request_from_xml(contract_for([new_house], number="УК-2026-7")))
    state = mc.wait(guid, timeout=30)
    placed = state.ImportResult[0].CommonResult[0]
    assert placed.importContract.ContractStatus == "Approved"
    assert placed.importContract.ContractObject[0].FIASHouseGuid == new_house
    version = placed.importContract.ContractVersionGUID

    conflict = hoa.send("importContractData", hoa.request_from_xml(contract_for([new_house], number="ТСЖ-1")))
    assert codes(outcome(conflict, hoa.wait(conflict, timeout=30))) == ["SRV002003"]
    supplier = rso.send("importContractData", rso.request_from_xml(contract_for([str(uuid.uuid4())], number="X")))
    assert codes(outcome(supplier, rso.wait(supplier, timeout=30))) == ["SRV002001"]
    regulator = client(server, pki, REGULATOR)
    reader = regulator.send("importContractData",
                            regulator.request_from_xml(contract_for([str(uuid.uuid4())], number="Y")))
    assert codes(outcome(reader, regulator.wait(reader, timeout=30))) == ["SRV002001"]

    # terminated yesterday: from today the company may no longer post the house
    request = mc.request_from_xml(contract_for([new_house], number="УК-2026-7"))
    terminate = copy.deepcopy(request)
    terminate["Contract"][0] = {"TransportGUID": str(uuid.uuid4()), "TerminateContract": {
        "Terminate": TODAY - timedelta(days=1), "ReasonRef": {"Code": "1", "GUID": str(uuid.uuid4())},
        "TerminateAttachment": [{"Name": "Соглашение.pdf", "Description": "Соглашение о расторжении",
                                 "Attachment": {"AttachmentGUID": str(uuid.uuid4())}, "AttachmentHASH": "ab"}],
        "ContractVersionGUID": version}}
    ended = mc.send("importContractData", terminate)
    ended_state = mc.wait(ended, timeout=30)
    assert ended_state.ImportResult[0].CommonResult[0].importContract.ContractStatus == "Terminated"
    # the version GUID it named is no longer current: a second termination finds no contract
    terminate["Contract"][0]["TransportGUID"] = str(uuid.uuid4())
    again = mc.send("importContractData", terminate)
    assert codes(outcome(again, mc.wait(again, timeout=30))) == ["SRV002004"]
    house = parse_untrusted((FIXTURES / "houses" / "sever-1.xml").read_bytes())
    house.find(f".//{{{HM}}}FIASHouseGuid").text = new_house
    posted = mc.send("importHouseUOData", mc.request_from_xml(house))
    assert codes(outcome(posted, mc.wait(posted, timeout=30)))[0] == "SRV002002"
    # the charter of the HOA still stands: it may post its own house
    assert codes(hoa.import_and_wait("importHouseUOData", FIXTURES / "houses" / "lipovaya-7.xml",
                                     timeout=30))[0] is None
    assert LIPOVAYA  # the charter's house
    assert_results_are_schema_valid(gateway)


def test_an_annulled_contract_never_gave_authority(server: EmbeddedServer, live_worker, pki) -> None:  # type: ignore[no-untyped-def]
    mc = client(server, pki, MC)
    house_guid = str(uuid.uuid4())
    placed = mc.send("importContractData", mc.request_from_xml(contract_for([house_guid], number="УК-ошибка")))
    version = mc.wait(placed, timeout=30).ImportResult[0].CommonResult[0].importContract.ContractVersionGUID
    request = mc.request_from_xml(contract_for([house_guid], number="УК-ошибка"))
    request["Contract"][0] = {"TransportGUID": str(uuid.uuid4()), "AnnulmentContract": {
        "ReasonOfAnnulment": "Размещён по ошибке", "ContractVersionGUID": version}}
    annulled = mc.send("importContractData", request)
    state = mc.wait(annulled, timeout=30).ImportResult[0].CommonResult[0].importContract
    assert state.ContractStatus == "Annul" and state.ContractObject[0].ManagedObjectStatus == "Annul"
    house = parse_untrusted((FIXTURES / "houses" / "sever-1.xml").read_bytes())
    house.find(f".//{{{HM}}}FIASHouseGuid").text = house_guid
    posted = mc.send("importHouseUOData", mc.request_from_xml(house))
    assert codes(outcome(posted, mc.wait(posted, timeout=30)))[0] == "SRV002002"


def test_a_verification_moves_the_due_date_and_ends_the_overdue_warning(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    mc = client(server, pki, MC)
    mc.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)
    flat = flats(mc, SEVER_1)
    _, state = import_accounts(mc, [account(flat["1"], "Поверкин")])
    old = water_meter("ХВ-2019", flat["1"], state.ImportResult[0].CommonResult[0].GUID)
    basic = old["DeviceDataToCreate"]["BasicChatacteristicts"]
    basic.update(InstallationDate=date(2019, 1, 10), CommissioningDate=date(2019, 1, 15),
                 FirstVerificationDate=date(2019, 1, 15))  # 6-year interval: due 2025-01-15
    registered, _ = import_devices(mc, [old])
    guid = mc.send("exportMeteringDeviceData", {"MeteringDeviceVersionGUID": registered.objects[0].guid,
                                                "Id": "signed-data-container", "version": "14.8.0.1"})
    root = mc.wait(guid, timeout=30).exportMeteringDeviceDataResult[0].MeteringDeviceRootGUID
    metering = dm_client(server, pki, MC)

    def one(**value: object):  # type: ignore[no-untyped-def]
        return send_readings(metering, [{"MeteringDeviceRootGUID": root, "OneRateDeviceValue": value}])

    assert codes(one(CurrentValue=[water("11", date(2026, 9, 25))])) == [None]
    verification = {"StartDateValue": date(2026, 10, 1), "EndDateValue": date(2026, 10, 3),
                    "SealDate": date(2026, 10, 3), "StartValue": [{"MunicipalResource": COLD_WATER,
                                                                   "MeteringValue": "11.5"}],
                    "EndValue": [{"MunicipalResource": COLD_WATER, "MeteringValue": "11.5"}],
                    "PlannedVerification": True, "TransportGUID": str(uuid.uuid4())}
    assert codes(one(VerificationValue=verification)) == [None]
    assert codes(one(CurrentValue=[water("12", date(2026, 10, 25))])) == [None]
    with gateway.engine.connect() as connection:
        flags = [f for f, in connection.execute(select(meter_readings.c.flags).order_by(meter_readings.c.id))]
        due = connection.execute(select(metering_devices.c.next_verification_on)).scalar()
    assert flags == ["verification_overdue", ""] and due == date(2032, 10, 3)
    assert_results_are_schema_valid(gateway)


def test_hostile_device_dates_are_refused_per_object_and_the_message_completes(  # type: ignore[no-untyped-def]
        registered, server: EmbeddedServer, pki, gateway: Gateway) -> None:
    """The audit: FirstVerificationDate 9999-12-31 broke the next-verification arithmetic and killed the whole
    message (dead, SRV999999); CommissioningDate 0001-01-01 was accepted."""
    mc, flat, accounts, _ = registered
    far_future = water_meter("ХВ-9999", flat["2"], accounts[1])
    far_future["DeviceDataToCreate"]["BasicChatacteristicts"]["FirstVerificationDate"] = date(9999, 12, 31)
    ancient = water_meter("ХВ-0001", flat["2"], accounts[1])
    ancient["DeviceDataToCreate"]["BasicChatacteristicts"]["CommissioningDate"] = "0001-01-01"
    result, _ = import_devices(mc, [far_future, ancient, water_meter("ХВ-ОК", flat["2"], accounts[1])])
    assert codes(result) == ["SRV001013", "SRV001013", None]
    with gateway.engine.connect() as connection:
        assert set(connection.execute(select(messages.c.state)).scalars()) == {"done"}


def test_transport_guids_are_echoed_exactly_as_sent(registered, server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    """A client correlating results by the string it sent must find an upper-case TransportGUID again."""
    mc, flat, accounts, _ = registered
    upper = str(uuid.uuid4()).upper()
    device = water_meter("ХВ-UPPER", flat["2"], accounts[1])
    device["TransportGUID"] = upper
    result, _ = import_devices(mc, [device])
    assert [o.transport_guid for o in result.objects] == [upper]
    metering = dm_client(server, pki, MC)
    shouted = str(uuid.uuid4()).upper()
    answer = send_readings(metering, [{"MeteringDeviceVersionGUID": registered[3][0].guid, "OneRateDeviceValue": {
        "CurrentValue": [water("13", date(2026, 10, 25), transport=shouted)]}}])
    assert [o.transport_guid for o in answer.objects] == [shouted]
