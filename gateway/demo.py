"""``make demo``: the whole flow on the embedded default, printed for a person to read.

SQLite file in the work folder, the gateway's own HTTP server on 127.0.0.1 and an in-process worker;
fixture providers send with the provider SDK's typed helpers (``providers.client.ProviderClient``: records
or official XML → zeep → XSD check → XAdES signature with their TEST-ONLY keys), poll getState (at demo
intervals, not the official 10 s / 60 s …), verify the gateway's signature on every answer, and read back
what the registry holds. Leaves nothing running.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import signal
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from gateway import bootstrap, ns, nsifile, orgfile
from gateway.config import Config, ConsoleConfig, DatabaseConfig, ReconciliationConfig, WorkerConfig
from gateway.console.mount import web
from gateway.demo_powers import run as _powers
from gateway.domain.provenance import Provenance
from gateway.messages.worker import WorkerThread
from gateway.signing import Signer, keys
from gateway.soap.operations import HOUSE_MANAGEMENT, by_body
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.builders import export_house_request
from providers.client import GatewayFault, ProviderClient
from providers.polling import PollSchedule
from providers.records import Account, AccountType, Device, DeviceKind, NsiRef, Person, Reading

#: the demo's fixtures: copied into the package by a (non-editable) build, else the checkout's fixtures/ folder
_PACKAGED = Path(__file__).resolve().parent / "_demo_data"
FIXTURES = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parent.parent / "fixtures"
DEMO_SETUP = Provenance.of_operator("demo", "make demo: fixture organisations, certificates and NSI", role="operator")
#: the demo's poll intervals; providers use the official schedule (first getState 10 s after the Ack, …)
Clients = dict[Any, ProviderClient]  # by organisation GUID
DEMO_POLLING = PollSchedule(first=0.05, intervals=(0.05, 0.1, 0.2), give_up_after=60)


def _say(text: str = "") -> None:
    print(text, flush=True)


def run(workdir: Path, *, serve: bool = False, port: int = 0) -> None:
    """The demo; ``serve`` keeps the server (SOAP and the console) up after the flow until interrupted."""
    started = time.monotonic()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    # the demo prints each refusal itself; the gateway's own log lines go to the log file
    logging.basicConfig(level=logging.INFO, filename=workdir / "gateway.log",
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    reference = FIXTURES / "reference"
    config = Config(database=DatabaseConfig(url=f"sqlite:///{workdir / 'gateway.sqlite3'}"),
                    worker=WorkerConfig(poll_interval=0.05),
                    reconciliation=ReconciliationConfig(
                        cache_dir=str(workdir / "reconciliation"), cadastral_source=str(reference / "egrn"),
                        address_source=str(reference / "gar"), licences_source=str(reference / "licences")),
                    # a session secret made for this run only (the console refuses to start without one)
                    console=ConsoleConfig(secret=secrets.token_urlsafe(48)))
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
            if entry.jurisdiction:
                uow.organisations.set_jurisdiction(org.guid, entry.jurisdiction, at=datetime.now(UTC))
            issued[org.guid] = keys.issue_test_certificate(
                ca, org_name=org.name, ogrn=str(org.ogrn), inn=str(org.inn), algorithm=entry.key_algorithm)
            uow.organisations.register_certificate(org.guid, keys.describe(issued[org.guid].cert))
            _say(f"   organisation {org.name} ({org.role}), TEST-ONLY {entry.key_algorithm.upper()} certificate")
        uow.commit()

    loaded = nsifile.load(gateway.unit_of_work(DEMO_SETUP), [FIXTURES / "nsi"], datetime.now(UTC))
    _say(f"   reference directories (NSI) loaded: {', '.join(str(registry) for registry, _ in loaded)}")

    worker = WorkerThread(gateway.worker).start()
    try:
        with EmbeddedServer(web(gateway), port=port) as server:
            _say(f"   server: {server.url}  (WSDL: {server.url}/ext-bus-home-management-service/services/"
                 "HomeManagementAsync?wsdl)")
            clients = {
                e.organisation.guid: ProviderClient(server.url, org_guid=str(e.organisation.guid),
                                                    key=issued[e.organisation.guid].key,
                                                    cert=issued[e.organisation.guid].cert,
                                                    gateway_cert=answers.cert, polling=DEMO_POLLING)
                for e in entries if e.houses or e.documents
            }
            _push_documents(entries, clients)
            _push_houses(entries, clients)
            _refusals(entries, clients, issued)
            _export(entries, clients)
            opened = _accounts(entries, clients)
            roots = _metering(gateway, entries[0], clients, opened)
            _meeting(entries[0], clients)
            _powers(gateway, entries, clients, issued, answers, server.url, roots)
            _reconcile(gateway)
            report = _compliance(gateway, server.url, entries, issued, answers, workdir)
            _console(gateway, server.url, entries, serve=serve)
    finally:
        worker.stop()
        gateway.engine.dispose()
    _say(f"\n== done in {time.monotonic() - started:.1f} s; nothing left running. "
         f"Registry and log kept in {workdir}/ (gateway.sqlite3, gateway.log)")
    _say(f"   compliance report: {report}")


def _push_documents(entries: list[orgfile.OrgEntry], clients: Clients) -> None:
    _say("\n== 0. contracts first: management contracts, charters and supply contracts give each organisation "
         "its houses")
    for entry in entries:
        for document in entry.documents:
            request = parse_untrusted(document.read_bytes())
            found = by_body(HOUSE_MANAGEMENT, request.tag)
            assert found is not None, document
            operation = found.name
            result = clients[entry.organisation.guid].import_official(request)
            status = ", ".join(o.error_code or "placed" for o in result.objects)
            _say(f"   {entry.organisation.name}: {operation} {document.name} → {status}")


def _push_houses(entries: list[orgfile.OrgEntry], clients: Clients) -> None:
    _say("\n== 1. providers post their houses (importHouseUOData → Ack → getState)")
    for entry in entries:
        for house in entry.houses:
            client = clients[entry.organisation.guid]
            result = client.import_house(parse_untrusted(house.read_bytes()))
            accepted = [o for o in result.objects if o.ok]
            refused = [o for o in result.objects if not o.ok]
            _say(f"   {entry.organisation.name}: {house.name} → MessageGUID {result.message_guid}: "
                 f"{len(accepted)} object(s) registered, {len(refused)} refused")
            for item in refused:
                _say(f"     refused TransportGUID {item.transport_guid}: {item.error_code} {item.description}")


def _refusals(entries: list[orgfile.OrgEntry], clients: Clients, issued: dict[Any, keys.Issued]) -> None:
    _say("\n== 2. what the gateway refuses at the door (SOAP fault, nothing stored)")
    mc = entries[0]
    client = clients[mc.organisation.guid]

    def house() -> etree._Element:
        return parse_untrusted(mc.houses[0].read_bytes())

    def tampered() -> None:
        prepared = client.prepare(house())
        signed_total = b"<hm:TotalSquare>5400.5</hm:TotalSquare>"
        assert signed_total in prepared.data
        client.post(type(prepared)(prepared.operation, prepared.message_guid,
                                   prepared.data.replace(signed_total, b"<hm:TotalSquare>1.0</hm:TotalSquare>")))

    _try("tampered body (TotalSquare changed after signing)", tampered)
    hoa = entries[1]
    impostor = ProviderClient(client.base_url, org_guid=str(mc.organisation.guid),
                              key=issued[hoa.organisation.guid].key, cert=issued[hoa.organisation.guid].cert,
                              gateway_cert=None)
    _try("signed with another organisation's certificate", lambda: impostor.submit(house()))
    _try("resend of the same MessageGUID with other content", lambda: _reuse(client, house()))


def _reuse(client: ProviderClient, request: etree._Element) -> None:
    guid = str(uuid.uuid4())
    client.post(client.prepare(export_house_request("b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"), message_guid=guid))
    client.post(client.prepare(request, message_guid=guid))


def _try(what: str, action: object) -> None:
    try:
        action()  # type: ignore[operator]
        _say(f"   {what}: ACCEPTED (unexpected)")
    except GatewayFault as fault:
        _say(f"   {what}: refused, {fault.code}: {fault.message}")


def _export(entries: list[orgfile.OrgEntry], clients: Clients) -> None:
    _say("\n== 3. exportHouseData: what the registry now holds")
    mc = entries[0]
    client = clients[mc.organisation.guid]
    fias = etree.parse(str(mc.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    house = client.export_house(fias)
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


def _premises_guids(client: ProviderClient, fias: str) -> dict[str, str]:
    house = client.export_house(fias).ApartmentHouse
    return {p.PremisesNum: p.PremisesGUID for p in house.ResidentialPremises or []}


def _accounts(entries: list[orgfile.OrgEntry], clients: Clients) -> list[tuple[str, str, str]]:
    _say("\n== 4. importAccountData: personal accounts for the flats (PremisesGUIDs read back first)")
    mc, hoa = entries[0], entries[1]
    client = clients[mc.organisation.guid]
    fias = etree.parse(str(mc.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    hoa_fias = etree.parse(str(hoa.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    flats = _premises_guids(client, fias)
    foreign = next(iter(_premises_guids(clients[hoa.organisation.guid], hoa_fias).values()))
    accounts = [
        Account(AccountType.UO, Person(surname, first), premises_guid=premises, total_square=Decimal(50),
                living_persons=2, account_number=f"100{number}")
        for (number, premises), (surname, first) in zip(sorted(flats.items()), PAYERS, strict=False)
    ]
    accounts.append(Account(AccountType.UO, Person("Посторонний", "Павел"),
                            premises_guid=foreign))  # planted: a flat of the HOA's house
    state = client.import_accounts(accounts)
    opened = []
    by_premises = {premises: number for number, premises in flats.items()}
    for account, common in zip(accounts, state.objects, strict=True):
        payer = account.payer.surname
        if common.ok:
            _say(f"   {payer:<12} ELS {common.extra['UnifiedAccountNumber']}  "
                 f"ServiceID {common.extra['ServiceID']}")
            assert account.premises_guid is not None and common.guid is not None
            opened.append((by_premises[account.premises_guid], account.premises_guid, common.guid))
        else:
            _say(f"   {payer:<12} refused: {common.error_code} {common.description}")
    return opened


COLD_WATER_CODE = "1"


def _nsi(gateway: bootstrap.Gateway, registry: int, code: str) -> NsiRef:
    with gateway.unit_of_work() as uow:
        item = uow.nsi.directory(registry)[code]
    return NsiRef(code, str(item.guid))


def _metering(gateway: bootstrap.Gateway, mc: orgfile.OrgEntry, clients: Clients,
              opened: list[tuple[str, str, str]]) -> list[str]:
    _say("\n== 5. importMeteringDeviceData: cold-water meters in the first three flats")
    client = clients[mc.organisation.guid]
    fias = etree.parse(str(mc.houses[0])).getroot().findtext(".//{*}FIASHouseGuid")
    water = _nsi(gateway, 2, COLD_WATER_CODE)
    devices = [Device(f"ХВ-{number}", DeviceKind.RESIDENTIAL, date(2026, 1, 15), model="ВСХ-15",
                      first_verified_on=date(2026, 1, 15), verification_interval=_nsi(gateway, 16, "6"),
                      premises_guids=(premises,), account_guids=(account,), resources=((water, Decimal(10)),))
               for number, premises, account in opened[:3]]
    registered = client.import_devices(fias, devices).objects
    roots = []
    for (number, _, _), common in zip(opened[:3], registered, strict=True):
        roots.append(common.extra["MeteringDeviceGUID"])
        _say(f"   flat {number}: meter ХВ-{number} registered as {common.unique_number}")

    _say("\n== 6. importMeteringDeviceValues (device-metering endpoint): monthly readings, each rule shown")

    def value(root: str, reading: str, on: str) -> Reading:
        return Reading(root, date.fromisoformat(on), water, Decimal(reading))

    batches = [
        ("September", [value(root, str(12 + i), "2026-09-25") for i, root in enumerate(roots)]),
        ("October", [value(roots[0], "14.5", "2026-10-25"), value(roots[1], "12.2", "2026-10-25"),
                     value(roots[2], "15", "2030-10-25")]),
        ("October again (flat 1 corrects its value)", [value(roots[0], "14.2", "2026-10-25")]),
    ]
    for label, values in batches:
        result = client.import_readings(values)
        for item in result.objects:
            _say(f"   {label}: " + ("accepted" if item.ok else f"refused {item.error_code} {item.description}"))
    for history, (number, _, _) in zip(client.export_history([fias], root_guids=roots), opened, strict=False):
        kept = history.OneRateDeviceValue.Values.CurrentValue if history.OneRateDeviceValue.Values else []
        shown = ", ".join(f"{v.DateValue.date()}: {v.MeteringValue}" for v in kept)
        _say(f"   history of ХВ-{number}: {shown}")
    return roots


def _meeting(mc: orgfile.OrgEntry, clients: Clients) -> None:
    _say("\n== 7. importVotingProtocol: an owners' meeting; the registry counts the votes itself")
    client = clients[mc.organisation.guid]
    result = client.import_protocol(parse_untrusted((FIXTURES / "oss" / "sever-1-protocol.xml").read_bytes()))
    protocol = result.objects[0]
    if not protocol.ok:
        _say(f"   refused: {protocol.error_code} {protocol.description}")
        return
    assert protocol.guid is not None
    exported = client.export_protocols(protocol_guids=[protocol.guid])[0]
    _say(f"   protocol {exported.ProtocolNum}: all owners' votes {exported.DecisionList[0].AllOwnersVotesSum} "
         f"(m² of premises), quorum {'reached' if exported.MeetingEligibility == 'C' else 'NOT reached'}")
    for item in exported.DecisionList:
        _say(f"     item {item.QuestionNumber}: for {item.Agree}, against {item.Against}, abstained {item.Abstent} "
             f"→ {'adopted' if item.votingResume == 'M' else 'NOT adopted'}  ({item.QuestionName})")
    _say("   the protocol declared item 2 adopted: it needs two thirds of ALL votes, so the registry flags it")


def _reconcile(gateway: bootstrap.Gateway) -> None:
    from gateway.registry import reconciliation as worklist
    from gateway.sync.scheduler import run_in_scheduler

    _say("\n== 9. reconciliation: the registry against EGRN, GAR and the licence register (fixture extracts), "
         "run by the scheduler in-process")
    for job in ("cadastral", "address", "licences", "authority"):
        outcome = run_in_scheduler(gateway, job)
        assert outcome is not None
        for line in outcome.lines():
            _say(f"   {line}")
    with gateway.engine.connect() as connection:
        open_items = list(worklist.find(connection, limit=None))
    _say(f"   worklist for support: {len(open_items)} open discrepancies, e.g.")
    for item in sorted(open_items, key=lambda d: (d.severity != "error", d.kind))[:4]:
        fix = "  → fix: gateway reconcile apply " + item.id if (item.suggested_fix or {}).get("action") == \
            "set_cadastral_number" else ""
        _say(f"     [{item.severity}] {item.summary}{fix}")


def _compliance(gateway: bootstrap.Gateway, url: str, entries: list[orgfile.OrgEntry], issued: dict[Any, keys.Issued],
                answers: keys.Issued, workdir: Path) -> Path:
    """A regulator records a penalty decree (rap), then the compliance report: over SOAP for the regulator, and
    written to HTML."""
    from gateway.reports import render
    from gateway.reports.evaluate import Filters
    from gateway.reports.report import ComplianceReport, end_of_day
    from gateway.reports.rules import MOSCOW
    from providers.dynamic import GisClient

    _say("\n== 10. compliance: a housing inspectorate records a penalty decree (rap), then who failed to post what")
    regulator = next(e for e in entries if e.organisation.role == "regulator")
    mc = entries[0].organisation
    key, cert = issued[regulator.organisation.guid].key, issued[regulator.organisation.guid].cert
    rap = GisClient(url, org_guid=str(regulator.organisation.guid), key=key, cert=cert, gateway_cert=answers.cert,
                    service="rap")
    decree = parse_untrusted((FIXTURES / "requests" / "decree.xml").read_bytes())
    decree.find(f".//{{{ns.RAP}}}TransportGuid").text = str(uuid.uuid4())
    placed = rap.wait(rap.send("importDecreesAndDocumentsData", rap.request_from_xml(decree)), timeout=30)
    common = placed.CommonResult[0]
    _say(f"   decree {common.UniqueNumber} on {mc.name} (proceeding 2026-06-01, not executed): later violations of "
         "the same article count as repeated (КоАП ст. 4.6)")
    today = datetime.now(MOSCOW).date()
    soap = GisClient(url, org_guid=str(regulator.organisation.guid), key=key, cert=cert, gateway_cert=answers.cert,
                     service="compliance")
    answer = soap.wait(soap.send("exportComplianceReport", {
        "AsOfDate": today.isoformat(), "PeriodFrom": "2015-01-01", "Id": "signed-data-container",
        "version": "1.0.0.0"}), timeout=60).ComplianceReport
    _say(f"   exportComplianceReport for {regulator.organisation.name} (OKTMO {', '.join(answer.OKTMO)}): "
         f"{answer.TotalOrganisations} organisation(s), {answer.InBreach} in breach; signed answer verified")
    for org in answer.Organisation or []:
        for t in org.Obligation:
            if t.Late or t.Missing:
                _say(f"     {org.Name}: {t.ObligationId}: due {t.Due}, on time {t.OnTime}, late {t.Late}, "
                     f"missing {t.Missing}, repeated {t.Repeated}")
    path = workdir / "compliance-report.html"
    with gateway.engine.connect() as connection:
        report = ComplianceReport(connection, as_of=end_of_day(today),
                                  filters=Filters(period_from=date(2015, 1, 1), period_to=today))
        render.write_html(report, path)
    _say(f"   the whole report (every region, printable, with charts): {path}")
    return path


def _console(gateway: bootstrap.Gateway, url: str, entries: list[orgfile.OrgEntry], *, serve: bool) -> None:
    """Console accounts for support and the inspectorate (passwords made for this run), and where to log in."""
    from gateway.console import accounts

    _say("\n== 11. the web console: compliance, organisations, houses, the worklist and messages in a browser")
    operator = next(e for e in entries if e.organisation.role == "operator").organisation
    regulator = next(e for e in entries if e.organisation.role == "regulator").organisation
    logins = {"support-demo": (operator, "support"), "inspector-demo": (regulator, "regulator"),
              "provider-demo": (entries[0].organisation, "provider")}
    password = secrets.token_urlsafe(12)
    for login, (org, role) in logins.items():
        accounts.add(gateway.engine, login=login, org=str(org.guid), role=role, password=password, actor="demo")
        _say(f"   {role:<9} login {login:<15} ({org.name})")
    _say(f"   password of all three, made for this run: {password}")
    if not serve:
        _say(f"   the console was at {url}/console/ while the demo ran; to keep it up, run "
             "`gateway demo --serve` (Ctrl-C stops it)")
        return
    _say(f"\n   console: {url}/console/  — log in as support-demo / {password}; Ctrl-C stops the server")

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)  # stopped by a process manager as by Ctrl-C: the server shuts down cleanly
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        _say("   stopping")
