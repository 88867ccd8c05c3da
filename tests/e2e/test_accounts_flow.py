"""Personal accounts end to end: a management company posts houses, then accounts for their flats."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import func, select
from zeep import Plugin

from gateway.bootstrap import Gateway
from gateway.registry.tables import HISTORY, accounts, messages
from gateway.registry.unit_of_work import UnitOfWork
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate
from providers.client import GisClient, outcome

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"
REGULATOR = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"
RSO = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6e"
SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"
LIPOVAYA = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"


def client(server: EmbeddedServer, pki, org: str) -> GisClient:  # type: ignore[no-untyped-def]
    issued = pki.by_org[org]
    return GisClient(server.url, org_guid=org, key=issued.key, cert=issued.cert, gateway_cert=pki.gateway.cert,
                     timeout=10)


def account(premises_guid: str, surname: str, *, transport: str | None = None, account_guid: str | None = None,
            kind: str = "isUOAccount", share: str | None = None) -> dict:  # type: ignore[type-arg]
    accommodation = {"PremisesGUID": premises_guid, **({"SharePercent": share} if share else {})}
    return {kind: True, "TotalSquare": "54.3", "LivingPersonsNumber": 2, "Accommodation": [accommodation],
            "PayerInfo": {"Ind": {"Surname": surname, "FirstName": "Иван", "SNILS": "12345678901"}},
            "TransportGUID": transport or str(uuid.uuid4()), "AccountNumber": f"LS-{surname}",
            **({"AccountGUID": account_guid} if account_guid else {})}


def flats(provider: GisClient, fias: str) -> dict[str, str]:
    guid = provider.send("exportHouseData", {"FIASHouseGuid": fias, "Id": "signed-data-container",
                                             "version": "15.10.0.0"})
    house = provider.wait(guid, timeout=30).exportHouseResult
    return {p.PremisesNum: p.PremisesGUID for p in house.ApartmentHouse.ResidentialPremises}


def import_accounts(provider: GisClient, accounts: list[dict]):  # type: ignore[no-untyped-def,type-arg]
    guid = provider.send("importAccountData", {"Account": accounts, "Id": "signed-data-container",
                                               "version": "10.0.1.1"})
    return guid, provider.wait(guid, timeout=30)


@pytest.fixture
def houses(server: EmbeddedServer, live_worker, pki) -> tuple[GisClient, dict[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
    mc, hoa = client(server, pki, MC), client(server, pki, HOA)
    mc.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)
    hoa.import_and_wait("importHouseUOData", FIXTURES / "houses" / "lipovaya-7.xml", timeout=30)
    return mc, flats(mc, SEVER_1), flats(hoa, LIPOVAYA)


def test_accounts_get_a_unified_number_and_service_ids_and_can_be_exported(
        houses, server: EmbeddedServer, pki, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    mc, sever, _ = houses
    message, state = import_accounts(mc, [account(sever["1"], "Иванов"), account(sever["2"], "Петров")])
    results = outcome(message, state).objects
    assert all(r.ok for r in results) and len(results) == 2
    numbers = [r.ImportAccount for r in state.ImportResult[0].CommonResult]
    assert all(len(n.UnifiedAccountNumber) == 10 and n.ServiceID == f"{n.UnifiedAccountNumber}-01" for n in numbers)
    assert len({n.UnifiedAccountNumber for n in numbers}) == 2

    guid = mc.send("exportAccountData", {"FIASHouseGuid": SEVER_1, "Id": "signed-data-container",
                                         "version": "10.0.1.1"})
    exported = mc.wait(guid, timeout=30).exportAccountResult
    assert sorted(a.PayerInfo.Ind.Surname for a in exported) == ["Иванов", "Петров"]
    assert {a.UnifiedAccountNumber for a in exported} == {n.UnifiedAccountNumber for n in numbers}
    with gateway.engine.connect() as connection:
        stored = connection.execute(select(messages.c.result).where(messages.c.guid == message)).scalar()
    validate(parse_untrusted(stored), Service.HOUSE_MANAGEMENT)  # the stored, signed answer is schema-valid


def test_each_account_is_refused_for_its_own_reason_and_the_others_are_stored(
        houses, server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    mc, sever, lipovaya = houses
    good = account(sever["3"], "Сидоров")
    batch = [good,
             account(lipovaya["1"], "Чужой"),  # the HOA's house
             account(str(uuid.uuid4()), "Нигде"),  # no such premises
             account(sever["4"], "Ресурсов", kind="isRSOAccount"),  # a supplier's account type
             account(sever["4"], "Капремонтов", kind="isCRAccount")]  # not recorded by this version
    message, state = import_accounts(mc, batch)
    codes = [r.error_code for r in outcome(message, state).objects]
    assert codes == [None, "SRV002002", "SRV001008", "SRV002001", "SRV001006"]


def test_a_resource_supplier_posts_accounts_for_the_houses_of_its_supply_contract(
        houses, server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    _, sever, lipovaya = houses
    rso = client(server, pki, RSO)
    message, state = import_accounts(rso, [account(sever["1"], "Водопотребитель", kind="isRSOAccount"),
                                           account(lipovaya["1"], "Чужой", kind="isRSOAccount"),
                                           account(sever["2"], "Управляемый")])
    codes = [r.error_code for r in outcome(message, state).objects]
    # its supply contract covers Severny-1, not the HOA's house; management accounts are not its to post
    assert codes == [None, "SRV002002", "SRV002001"]


def test_an_update_is_a_new_version_and_keeps_the_numbers(houses, server: EmbeddedServer, pki,
                                                          gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    mc, sever, _ = houses
    _, state = import_accounts(mc, [account(sever["5"], "Кузнецов")])
    first = state.ImportResult[0].CommonResult[0]
    _, state = import_accounts(mc, [account(sever["5"], "Кузнецова", account_guid=first.GUID, share="50")])
    second = state.ImportResult[0].CommonResult[0]
    assert second.GUID == first.GUID
    assert second.ImportAccount.UnifiedAccountNumber == first.ImportAccount.UnifiedAccountNumber
    assert second.ImportAccount.ServiceID == first.ImportAccount.ServiceID
    with gateway.engine.connect() as connection:
        versions = connection.execute(select(func.count()).select_from(HISTORY["accounts"]).where(
            HISTORY["accounts"].c.guid == first.GUID)).scalar()
    assert versions == 2


def test_accounts_are_visible_to_their_holder_and_regulators_only(
        houses, server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    mc, sever, _ = houses
    import_accounts(mc, [account(sever["6"], "Смирнов")])
    request = {"FIASHouseGuid": SEVER_1, "Id": "signed-data-container", "version": "10.0.1.1"}
    regulator = client(server, pki, REGULATOR)
    seen = regulator.wait(regulator.send("exportAccountData", request), timeout=30)
    assert [a.PayerInfo.Ind.Surname for a in seen.exportAccountResult] == ["Смирнов"]
    hoa = client(server, pki, HOA)
    hidden = hoa.wait(hoa.send("exportAccountData", request), timeout=30)
    assert hidden.ErrorMessage.ErrorCode == "SRV001009"


def test_accounts_for_a_whole_house_and_for_flats_go_in_one_message(  # type: ignore[no-untyped-def]
        houses, server: EmbeddedServer, pki) -> None:
    mc, sever, _ = houses
    whole = account(sever["1"], "Домовой")
    whole["Accommodation"] = [{"FIASHouseGuid": SEVER_1}]
    message, state = import_accounts(mc, [account(sever["2"], "Квартирный"), whole])
    assert [r.error_code for r in outcome(message, state).objects] == [None, None]


def test_a_second_open_account_with_the_same_number_is_refused(
        houses, server: EmbeddedServer, pki, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    mc, sever, _ = houses
    message, state = import_accounts(mc, [account(sever["1"], "Дубль")])
    assert outcome(message, state).objects[0].ok
    message, state = import_accounts(mc, [account(sever["2"], "Дубль"), account(sever["3"], "Двойной"),
                                          account(sever["4"], "Двойной")])
    assert [r.error_code for r in outcome(message, state).objects] == ["SRV001012", None, "SRV001012"]
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(accounts).where(
            accounts.c.account_number == "LS-Дубль")).scalar() == 1


def test_a_closed_account_number_can_be_opened_again(
        houses, server: EmbeddedServer, pki, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    mc, sever, _ = houses
    _, state = import_accounts(mc, [account(sever["5"], "Переезд")])
    first = state.ImportResult[0].CommonResult[0]
    closing = account(sever["5"], "Переезд", account_guid=first.GUID)
    with UnitOfWork(gateway.engine) as uow:
        reason = uow.nsi.directory(22)
    code, item = next(iter(reason.items()))
    closing["Closed"] = {"CloseReason": {"Code": code, "GUID": item.guid}, "CloseDate": "2026-11-30"}
    message, state = import_accounts(mc, [closing])
    assert outcome(message, state).objects[0].ok
    message, state = import_accounts(mc, [account(sever["6"], "Переезд")])
    assert outcome(message, state).objects[0].ok


def test_a_replayed_account_message_opens_no_second_account(
        houses, server: EmbeddedServer, pki, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    """The audit's attack: the signed importAccountData captured off the wire and sent again under a new
    MessageGUID (the header is unsigned) used to open a second account for the same flat."""
    mc, sever, _ = houses
    captured: list[bytes] = []

    class Capture(Plugin):
        def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
            captured.append(etree.tostring(envelope))
            return envelope, http_headers

    mc.client.plugins.append(Capture())  # after the signing plugin: what goes on the wire
    message, state = import_accounts(mc, [account(sever["6"], "Повторов")])
    mc.client.plugins.pop()
    assert outcome(message, state).objects[0].ok
    replay = etree.fromstring(captured[0])
    replay.find(f".//{{{BASE}}}RequestHeader/{{{BASE}}}MessageGUID").text = str(uuid.uuid4())
    answer = requests.post(mc.address, data=etree.tostring(replay), timeout=10,
                           headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:importAccountData"'})
    assert answer.status_code == 500
    assert etree.fromstring(answer.content).findtext(f".//{{{BASE}}}ErrorCode") == "INT002010"
    gateway.worker.drain()
    with gateway.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(accounts).where(
            accounts.c.account_number == "LS-Повторов")).scalar() == 1
