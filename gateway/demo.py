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
from gateway.domain.provenance import Provenance
from gateway.messages.worker import WorkerThread
from gateway.signing import Signer, keys
from gateway.soap.operations import HOUSE_MANAGEMENT, by_body
from gateway.soap.server import EmbeddedServer
from providers.client import GisClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO_SETUP = Provenance.of_operator("demo", "make demo: fixture organisations, certificates and NSI", role="operator")


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
    with gateway.unit_of_work(DEMO_SETUP) as uow:
        for entry in entries:
            org = entry.organisation
            uow.organisations.add(org)
            issued[org.guid] = keys.issue_test_certificate(
                ca, org_name=org.name, ogrn=str(org.ogrn), inn=str(org.inn), algorithm=entry.key_algorithm)
            uow.organisations.register_certificate(org.guid, keys.describe(issued[org.guid].cert))
            _say(f"   organisation {org.name} ({org.role}), TEST-ONLY {entry.key_algorithm.upper()} certificate")
        uow.commit()

    loaded = nsifile.load(gateway.unit_of_work(DEMO_SETUP), [FIXTURES / "nsi"], datetime.now(UTC))
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
                for e in entries if e.houses or e.documents
            }
            _push_documents(entries, clients)
            _push_houses(entries, clients)
            _refusals(entries, clients, issued)
            _export(entries, clients)
            opened = _accounts(entries, clients)
            _metering(gateway, server.url, entries[0], clients, issued, opened)
            _meeting(entries[0], clients)
    finally:
        worker.stop()
        gateway.engine.dispose()
    _say(f"\n== done in {time.monotonic() - started:.1f} s; nothing left running. "
         f"Registry and log kept in {workdir}/ (gateway.sqlite3, gateway.log)")


def _push_documents(entries: list[orgfile.OrgEntry], clients: dict) -> None:
    _say("\n== 0. contracts first: management contracts, charters and supply contracts give each organisation "
         "its houses")
    for entry in entries:
        for document in entry.documents:
            found = by_body(HOUSE_MANAGEMENT, etree.parse(str(document)).getroot().tag)
            assert found is not None, document
            operation = found.name
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


def _accounts(entries: list[orgfile.OrgEntry], clients: dict) -> list[tuple[str, str, str]]:
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
    opened = []
    by_premises = {premises: number for number, premises in flats.items()}
    for account, common in zip(accounts, state.ImportResult[0].CommonResult, strict=True):
        payer = account["PayerInfo"]["Ind"]["Surname"]
        if getattr(common, "ImportAccount", None) is not None:
            _say(f"   {payer:<12} ELS {common.ImportAccount.UnifiedAccountNumber}  "
                 f"ServiceID {common.ImportAccount.ServiceID}")
            premises = account["Accommodation"][0]["PremisesGUID"]
            opened.append((by_premises[premises], premises, common.GUID))
        else:
            _say(f"   {payer:<12} refused: {common.Error[0].ErrorCode} {common.Error[0].Description}")
    return opened


COLD_WATER_CODE = "1"


def _nsi(gateway: bootstrap.Gateway, registry: int, code: str) -> dict[str, str]:
    with gateway.unit_of_work() as uow:
        item = uow.nsi.directory(registry)[code]
    return {"Code": code, "GUID": item.guid}


def _metering(gateway: bootstrap.Gateway, server_url: str, mc: orgfile.OrgEntry, clients: dict, issued: dict,
              opened: list[tuple[str, str, str]]) -> None:
    _say("\n== 5. importMeteringDeviceData: cold-water meters in the first three flats")
    client = clients[mc.organisation.guid]
    fias = etree.parse(str(mc.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    water = _nsi(gateway, 2, COLD_WATER_CODE)
    devices = [{"TransportGUID": str(uuid.uuid4()), "DeviceDataToCreate": {
        "BasicChatacteristicts": {
            "MeteringDeviceNumber": f"ХВ-{number}", "MeteringDeviceModel": "ВСХ-15",
            "CommissioningDate": "2026-01-15", "RemoteMeteringMode": False,
            "FirstVerificationDate": "2026-01-15", "VerificationInterval": _nsi(gateway, 16, "6"),
            "TemperatureSensor": False, "PressureSensor": False,
            "ResidentialPremiseDevice": {"PremiseGUID": [premises], "AccountGUID": [account]}},
        "NotLinkedWithMetering": True,
        "MunicipalResourceNotEnergy": [{"MunicipalResource": water, "MeteringValue": "10"}]}}
        for number, premises, account in opened[:3]]
    guid = client.send("importMeteringDeviceData", {"FIASHouseGuid": fias, "MeteringDevice": devices,
                                                    "Id": "signed-data-container", "version": "11.1.0.8"})
    registered = [c for c in client.wait(guid).ImportResult[0].CommonResult]
    roots = []
    for (number, _, _), common in zip(opened[:3], registered, strict=True):
        roots.append(common.importMeteringDevice.MeteringDeviceGUID)
        _say(f"   flat {number}: meter ХВ-{number} registered as {common.UniqueNumber}")

    _say("\n== 6. importMeteringDeviceValues (device-metering endpoint): monthly readings, each rule shown")
    key, cert = issued[mc.organisation.guid].key, issued[mc.organisation.guid].cert
    metering = GisClient(server_url, org_guid=str(mc.organisation.guid), key=key, cert=cert,
                         service="device-metering")

    def value(root: str, reading: str, on: str) -> dict:  # type: ignore[type-arg]
        year, month = int(on[:4]), int(on[5:7])
        return {"MeteringDeviceRootGUID": root, "OneRateDeviceValue": {"CurrentValue": [{
            "MunicipalResource": water, "MeteringValue": reading, "DateValue": on,
            "TransportGUID": str(uuid.uuid4()), "Period": {"Year": year, "Month": month}}]}}

    batches = [
        ("September", [value(root, str(12 + i), "2026-09-25") for i, root in enumerate(roots)]),
        ("October", [value(roots[0], "14.5", "2026-10-25"), value(roots[1], "12.2", "2026-10-25"),
                     value(roots[2], "15", "2030-10-25")]),
        ("October again (flat 1 corrects its value)", [value(roots[0], "14.2", "2026-10-25")]),
    ]
    for label, values in batches:
        result = metering.import_and_wait_values(values)
        for item in result.objects:
            _say(f"   {label}: " + ("accepted" if item.ok else f"refused {item.error_code} {item.description}"))
    guid = metering.send("exportMeteringDeviceHistory", {"FIASHouseGuid": [fias], "MeteringDeviceRootGUID": roots,
                                                         "Id": "signed-data-container", "version": "10.0.1.1"})
    for history, (number, _, _) in zip(metering.wait(guid).exportMeteringDeviceHistoryResult, opened, strict=False):
        values = history.OneRateDeviceValue.Values.CurrentValue if history.OneRateDeviceValue.Values else []
        shown = ", ".join(f"{v.DateValue.date()}: {v.MeteringValue}" for v in values)
        _say(f"   history of ХВ-{number}: {shown}")


def _meeting(mc: orgfile.OrgEntry, clients: dict) -> None:
    _say("\n== 7. importVotingProtocol: an owners' meeting; the registry counts the votes itself")
    client = clients[mc.organisation.guid]
    request = client.request_from_xml(etree.parse(str(FIXTURES / "oss" / "sever-1-protocol.xml")).getroot())
    request["Protocol"]["VoteInitiators"] = {}
    result = client.import_and_wait_request("importVotingProtocol", request)
    protocol = result.objects[0]
    if not protocol.ok:
        _say(f"   refused: {protocol.error_code} {protocol.description}")
        return
    guid = client.send("exportVotingProtocol", {"ProtocolGUID": [protocol.guid], "Id": "signed-data-container",
                                                "version": "15.10.0.1"})
    exported = client.wait(guid).VotingProtocol[0]
    _say(f"   protocol {exported.ProtocolNum}: all owners' votes {exported.DecisionList[0].AllOwnersVotesSum} "
         f"(m² of premises), quorum {'reached' if exported.MeetingEligibility == 'C' else 'NOT reached'}")
    for item in exported.DecisionList:
        _say(f"     item {item.QuestionNumber}: for {item.Agree}, against {item.Against}, abstained {item.Abstent} "
             f"→ {'adopted' if item.votingResume == 'M' else 'NOT adopted'}  ({item.QuestionName})")
    _say("   the protocol declared item 2 adopted: it needs two thirds of ALL votes, so the registry flags it")
