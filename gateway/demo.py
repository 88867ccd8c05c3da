"""``make demo``: the whole flow on the embedded default, printed for a person to read.

SQLite file in the work folder, the gateway's own HTTP server on 127.0.0.1 and an in-process worker;
fixture providers build their requests with zeep from the WSDL the server serves, sign them with their
TEST-ONLY keys, send, poll getState, and read back what the registry holds. Leaves nothing running.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import zeep
from lxml import etree

from gateway import bootstrap, nsifile, orgfile
from gateway.config import Config, DatabaseConfig, WorkerConfig
from gateway.messages.worker import WorkerThread
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing import Signer, keys
from gateway.soap.server import EmbeddedServer
from providers.client import GisClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _say(text: str = "") -> None:
    print(text, flush=True)


def run(workdir: Path) -> None:
    started = time.monotonic()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    # the demo prints each refusal itself; the gateway's own log lines go to the log file
    logging.basicConfig(level=logging.INFO, filename=workdir / "gateway.log",
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    config = Config(database=DatabaseConfig(url=f"sqlite:///{workdir / 'gateway.sqlite3'}"),
                    worker=WorkerConfig(poll_interval=0.05))
    ca = keys.issue_test_ca()
    answers = keys.issue_test_gateway_certificate(ca)
    gateway = bootstrap.build(config, upgrade=True, signer=Signer(answers.key, answers.cert))
    entries = orgfile.read(FIXTURES / "organisations.toml")

    _say("== dom-gateway demo: GIS ZhKKh house-management async API, release 16.3.0.0")
    _say(f"   registry: {config.database.url}")
    _say("   the gateway signs its answers with a TEST-ONLY GOST R 34.10-2012 certificate; providers verify them")
    issued = {}
    with UnitOfWork(gateway.engine) as uow:
        for entry in entries:
            org = entry.organisation
            uow.organisations.add(org)
            issued[org.guid] = keys.issue_test_certificate(
                ca, org_name=org.name, ogrn=str(org.ogrn), inn=str(org.inn), algorithm=entry.key_algorithm)
            uow.organisations.register_certificate(org.guid, keys.describe(issued[org.guid].cert))
            _say(f"   organisation {org.name} ({org.role}), TEST-ONLY {entry.key_algorithm.upper()} certificate")
        uow.commit()

    loaded = nsifile.load(gateway.engine, [FIXTURES / "nsi"], datetime.now(UTC))
    _say(f"   reference directories (NSI) loaded: {', '.join(str(registry) for registry, _ in loaded)}")

    worker = WorkerThread(gateway.worker).start()
    try:
        with EmbeddedServer(gateway.app) as server:
            _say(f"   server: {server.url}  (WSDL: {server.url}/ext-bus-home-management-service/services/"
                 "HomeManagementAsync?wsdl)")
            clients = {
                e.organisation.guid: GisClient(server.url, org_guid=str(e.organisation.guid),
                                               key=issued[e.organisation.guid].key,
                                               cert=issued[e.organisation.guid].cert)
                for e in entries if e.houses
            }
            _push_documents(entries, clients)
            _push_houses(entries, clients)
            _refusals(entries, clients, issued)
            _export(entries, clients)
            _accounts(entries, clients)
    finally:
        worker.stop()
        gateway.engine.dispose()
    _say(f"\n== done in {time.monotonic() - started:.1f} s; nothing left running. "
         f"Registry and log kept in {workdir}/ (gateway.sqlite3, gateway.log)")


def _push_documents(entries: list[orgfile.OrgEntry], clients: dict) -> None:
    _say("\n== 0. management contracts and charters first: they give each organisation its houses")
    for entry in entries:
        for document in entry.documents:
            operation = "importCharterData" if "Charter" in etree.parse(str(document)).getroot().tag \
                else "importContractData"
            result = clients[entry.organisation.guid].import_and_wait(operation, document)
            status = ", ".join(o.error_code or "placed" for o in result.objects)
            _say(f"   {entry.organisation.name}: {operation} {document.name} → {status}")


def _push_houses(entries: list[orgfile.OrgEntry], clients: dict) -> None:
    _say("\n== 1. providers post their houses (importHouseUOData → Ack → getState)")
    for entry in entries:
        for house in entry.houses:
            client = clients[entry.organisation.guid]
            result = client.import_and_wait("importHouseUOData", house)
            accepted = [o for o in result.objects if o.ok]
            refused = [o for o in result.objects if not o.ok]
            _say(f"   {entry.organisation.name}: {house.name} → MessageGUID {result.message_guid}: "
                 f"{len(accepted)} object(s) registered, {len(refused)} refused")
            for item in refused:
                _say(f"     refused TransportGUID {item.transport_guid}: {item.error_code} {item.description}")


def _refusals(entries: list[orgfile.OrgEntry], clients: dict, issued: dict) -> None:
    _say("\n== 2. what the gateway refuses at the door (SOAP fault, nothing stored)")
    mc = entries[0]
    client = clients[mc.organisation.guid]
    request = client.request_from_xml(etree.parse(str(mc.houses[0])).getroot())

    def tamper(envelope: etree._Element, headers: dict, *_: object) -> tuple[etree._Element, dict]:
        total = envelope.find(".//{*}TotalSquare")
        total.text = "1.0"  # altered after signing
        return envelope, headers

    class Tamper(zeep.Plugin):
        egress = staticmethod(tamper)

    client.client.plugins.append(Tamper())
    _try("tampered body (TotalSquare changed after signing)", lambda: client.send("importHouseUOData", request))
    client.client.plugins.pop()

    hoa = entries[1]
    impostor = GisClient(client.address.rsplit("/ext-bus", 1)[0], org_guid=str(mc.organisation.guid),
                         key=issued[hoa.organisation.guid].key, cert=issued[hoa.organisation.guid].cert)
    _try("signed with another organisation's certificate",
         lambda: impostor.send("importHouseUOData", request))
    _try("resend of the same MessageGUID with other content", lambda: _reuse(client, request))


def _reuse(client: GisClient, request: dict) -> None:
    guid = str(uuid.uuid4())
    client.send("exportHouseData", {"FIASHouseGuid": "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c", "Id":
                                    "signed-data-container", "version": "15.10.0.0"}, message_guid=guid)
    client.send("importHouseUOData", request, message_guid=guid)


def _try(what: str, action: object) -> None:
    try:
        action()  # type: ignore[operator]
        _say(f"   {what}: ACCEPTED (unexpected)")
    except zeep.exceptions.Fault as fault:
        _say(f"   {what}: refused, {fault.message}")


def _export(entries: list[orgfile.OrgEntry], clients: dict) -> None:
    _say("\n== 3. exportHouseData: what the registry now holds")
    mc = entries[0]
    client = clients[mc.organisation.guid]
    fias = etree.parse(str(mc.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    guid = client.send("exportHouseData", {"FIASHouseGuid": fias, "Id": "signed-data-container",
                                           "version": "15.10.0.0"})
    state = client.wait(guid)
    house = state.exportHouseResult
    basic = house.ApartmentHouse.BasicCharacteristicts
    _say(f"   house {fias}: unique number {house.HouseUniqueNumber}, cadastral {basic.CadastralNumber}, "
         f"{basic.TotalSquare} m², built {basic.UsedYear}, {basic.FloorCount} floors")
    for premises in house.ApartmentHouse.ResidentialPremises or []:
        _say(f"     flat {premises.PremisesNum:>3}: {premises.TotalArea} m², cadastral "
             f"{premises.CadastralNumber or '— none on record'}")
    for premises in house.ApartmentHouse.NonResidentialPremises or []:
        _say(f"     non-residential {premises.PremisesNum}: {premises.TotalArea} m², cadastral "
             f"{premises.CadastralNumber or '— none on record'}")


PAYERS = [("Иванов", "Иван"), ("Петрова", "Анна"), ("Сидоров", "Пётр"), ("Кузнецова", "Мария"),
          ("Смирнов", "Олег"), ("Попова", "Елена")]


def _premises_guids(client: GisClient, fias: str) -> dict[str, str]:
    guid = client.send("exportHouseData", {"FIASHouseGuid": fias, "Id": "signed-data-container",
                                           "version": "15.10.0.0"})
    house = client.wait(guid).exportHouseResult.ApartmentHouse
    return {p.PremisesNum: p.PremisesGUID for p in house.ResidentialPremises or []}


def _accounts(entries: list[orgfile.OrgEntry], clients: dict) -> None:
    _say("\n== 4. importAccountData: personal accounts for the flats (PremisesGUIDs read back first)")
    mc, hoa = entries[0], entries[1]
    client = clients[mc.organisation.guid]
    fias = etree.parse(str(mc.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    hoa_fias = etree.parse(str(hoa.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    flats = _premises_guids(client, fias)
    foreign = next(iter(_premises_guids(clients[hoa.organisation.guid], hoa_fias).values()))
    accounts = [
        {"isUOAccount": True, "TotalSquare": "50", "LivingPersonsNumber": 2,
         "Accommodation": [{"PremisesGUID": premises}],
         "PayerInfo": {"Ind": {"Surname": surname, "FirstName": first}},
         "TransportGUID": str(uuid.uuid4()), "AccountNumber": f"100{number}"}
        for (number, premises), (surname, first) in zip(sorted(flats.items()), PAYERS, strict=False)
    ]
    accounts.append({"isUOAccount": True, "Accommodation": [{"PremisesGUID": foreign}],
                     "PayerInfo": {"Ind": {"Surname": "Посторонний", "FirstName": "Павел"}},
                     "TransportGUID": str(uuid.uuid4())})  # planted: a flat of the HOA's house
    guid = client.send("importAccountData", {"Account": accounts, "Id": "signed-data-container",
                                             "version": "10.0.1.1"})
    state = client.wait(guid)
    for account, common in zip(accounts, state.ImportResult[0].CommonResult, strict=True):
        payer = account["PayerInfo"]["Ind"]["Surname"]
        if getattr(common, "ImportAccount", None) is not None:
            _say(f"   {payer:<12} ELS {common.ImportAccount.UnifiedAccountNumber}  "
                 f"ServiceID {common.ImportAccount.ServiceID}")
        else:
            _say(f"   {payer:<12} refused: {common.Error[0].ErrorCode} {common.Error[0].Description}")
