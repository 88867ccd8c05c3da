"""Communal flats: rooms registered with their flat, exported, added later, metered by room devices."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from pathlib import Path

from lxml import etree

from gateway.bootstrap import Gateway
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.client import outcome
from tests.e2e.test_accounts_flow import MC, SEVER_1, account, client, import_accounts
from tests.e2e.test_metering_flow import (
    assert_results_are_schema_valid,
    codes,
    dm_client,
    import_devices,
    send_readings,
    water,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
NSI = "http://dom.gosuslugi.ru/schema/integration/nsi-base/"
COMMUNAL_GUID = "a278c755-fd7c-55a4-b8c3-9e8073ec0165"  # fixtures/nsi/nsi-030.toml, code 2


def room(number: str, square: str) -> etree._Element:
    element = etree.Element(f"{{{HM}}}LivingRoomToCreate")
    etree.SubElement(element, f"{{{HM}}}NoCadastralNumber").text = "true"
    etree.SubElement(element, f"{{{HM}}}RoomNumber").text = number
    etree.SubElement(element, f"{{{HM}}}Square").text = square
    etree.SubElement(element, f"{{{BASE}}}TransportGUID").text = str(uuid.uuid4())
    return element


def characteristic(flat: etree._Element, code: str, guid: str) -> None:
    """PremisesCharacteristic (NSI 30) in its schema place, before TotalArea."""
    ref = etree.Element(f"{{{HM}}}PremisesCharacteristic")
    etree.SubElement(ref, f"{{{NSI}}}Code").text = code
    etree.SubElement(ref, f"{{{NSI}}}GUID").text = guid
    flat.find(f"{{{HM}}}TotalArea").addprevious(ref)


def house_with_rooms() -> etree._Element:
    """Severny-1 with flat 1 a communal flat (NSI 30) of rooms 1 and 2, room 2 sent twice; flat 2 names a
    characteristic NSI 30 does not have."""
    root = parse_untrusted((FIXTURES / "houses" / "sever-1.xml").read_bytes())
    flats = root.findall(f".//{{{HM}}}ResidentialPremises")
    for element in (room("1", "18.5"), room("2", "20.1"), room("2", "9.9")):
        flats[0].append(element)
    characteristic(flats[0][0], "2", COMMUNAL_GUID)
    characteristic(flats[1][0], "77", str(uuid.uuid4()))
    return root


def test_rooms_are_registered_exported_and_metered(server: EmbeddedServer, live_worker, pki,  # type: ignore[no-untyped-def]
                                                   gateway: Gateway) -> None:
    mc = client(server, pki, MC)
    posted = mc.send("importHouseUOData", mc.request_from_xml(house_with_rooms()))
    result = outcome(posted, mc.wait(posted, timeout=30))
    # house, the shop, flat 1 and its three rooms (the repeated number refused), flat 2 (unknown NSI 30 code)
    assert codes(result)[:7] == [None, None, None, None, None, "SRV001005", "SRV001010"]
    assert result.objects[3].unique_number and "-K" in result.objects[3].unique_number

    guid = mc.send("exportHouseData", {"FIASHouseGuid": SEVER_1, "Id": "signed-data-container",
                                       "version": "15.10.0.0"})
    flats = mc.wait(guid, timeout=30).exportHouseResult.ApartmentHouse.ResidentialPremises
    communal = next(p for p in flats if p.PremisesNum == "1")
    assert [(r.RoomNumber, str(r.Square)) for r in communal.LivingRoom] == [("1", "18.5"), ("2", "20.1")]
    assert communal.PremisesCharacteristic.Code == "2"
    rooms = [r.LivingRoomGUID for r in communal.LivingRoom]

    # a third room added to the registered flat through ApartmentHouseToUpdate
    update = parse_untrusted(f"""<hm:importHouseUORequest xmlns:hm="{HM}" xmlns:base="{BASE}"
        Id="signed-data-container" base:version="13.2.3.2"><hm:ApartmentHouse><hm:ApartmentHouseToUpdate>
        <hm:BasicCharacteristicts><hm:FIASHouseGuid>{SEVER_1}</hm:FIASHouseGuid></hm:BasicCharacteristicts>
        <base:TransportGUID>{uuid.uuid4()}</base:TransportGUID></hm:ApartmentHouseToUpdate>
        <hm:ResidentialPremises><hm:ResidentialPremisesToUpdate><hm:EntranceNum>1</hm:EntranceNum>
        <base:TransportGUID>{uuid.uuid4()}</base:TransportGUID><hm:PremisesGUID>{communal.PremisesGUID}</hm:PremisesGUID>
        </hm:ResidentialPremisesToUpdate></hm:ResidentialPremises></hm:ApartmentHouse></hm:importHouseUORequest>
        """.encode())
    update.find(f".//{{{HM}}}ResidentialPremises").append(room("3", "12"))
    changed = mc.send("importHouseUOData", mc.request_from_xml(update))
    assert codes(outcome(changed, mc.wait(changed, timeout=30))) == [None, None, None]

    tenants = [account(communal.PremisesGUID, "Квартирный"), account(communal.PremisesGUID, "Комнатный"),
               account(communal.PremisesGUID, "Безкомнатный")]
    tenants[1]["Accommodation"] = [{"LivingRoomGUID": rooms[0]}]  # an account for one room
    tenants[2]["Accommodation"] = [{"LivingRoomGUID": str(uuid.uuid4())}]
    message, state = import_accounts(mc, tenants)
    assert codes(outcome(message, state)) == [None, None, "SRV001008"]
    account_guid = state.ImportResult[0].CommonResult[1].GUID
    guid = mc.send("exportAccountData", {"AccountGUID": [account_guid], "Id": "signed-data-container",
                                         "version": "10.0.1.1"})
    exported = mc.wait(guid, timeout=30).exportAccountResult[0]
    assert exported.Accommodation[0].LivingRoomGUID == rooms[0] and exported.ServiceID
    meter = {"TransportGUID": str(uuid.uuid4()), "DeviceDataToCreate": {
        "BasicChatacteristicts": {
            "MeteringDeviceNumber": "КОМ-1", "CommissioningDate": date(2026, 1, 15), "RemoteMeteringMode": False,
            "TemperatureSensor": False, "PressureSensor": False,
            "LivingRoomDevice": {"LivingRoomGUID": rooms[:1], "AccountGUID": [account_guid]}},
        "NotLinkedWithMetering": True,
        "MunicipalResourceNotEnergy": [{"MunicipalResource": {"Code": "1",
                                                              "GUID": "2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a"},
                                        "MeteringValue": "5"}]}}
    stranger = copy.deepcopy(meter)
    stranger["TransportGUID"] = str(uuid.uuid4())
    stranger["DeviceDataToCreate"]["BasicChatacteristicts"]["MeteringDeviceNumber"] = "КОМ-2"
    stranger["DeviceDataToCreate"]["BasicChatacteristicts"]["LivingRoomDevice"]["LivingRoomGUID"] = [
        str(uuid.uuid4())]
    registered, _ = import_devices(mc, [meter, stranger])
    assert codes(registered) == [None, "SRV001008"]
    guid = mc.send("exportMeteringDeviceData", {"MeteringDeviceVersionGUID": registered.objects[0].guid,
                                                "Id": "signed-data-container", "version": "14.8.0.1"})
    device = mc.wait(guid, timeout=30).exportMeteringDeviceDataResult[0]
    assert device.BasicChatacteristicts.LivingRoomDevice.LivingRoomGUID == rooms[:1]
    readings = send_readings(dm_client(server, pki, MC), [{
        "MeteringDeviceRootGUID": device.MeteringDeviceRootGUID,
        "OneRateDeviceValue": {"CurrentValue": [water("6.5", date(2026, 10, 25))]}}])
    assert codes(readings) == [None]
    assert_results_are_schema_valid(gateway)
