"""Shared fixtures: databases (SQLite file and PostgreSQL schema), test PKI, a seeded gateway, a live server.

PostgreSQL tests read GATEWAY_TEST_PG_URL; without it they skip, unless GATEWAY_REQUIRE_PG=1 (CI), where
they fail. Each PostgreSQL test gets its own schema, dropped afterwards, since the server outlives the run.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, create_engine, text

from gateway import bootstrap, nsifile, orgfile
from gateway.config import Config, DatabaseConfig, WorkerConfig
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid
from gateway.messages import queue
from gateway.messages.worker import WorkerThread
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing import Signer, keys
from gateway.soap.operations import HOUSE_MANAGEMENT, by_body
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PG_URL = os.environ.get("GATEWAY_TEST_PG_URL", "")
REQUIRE_PG = os.environ.get("GATEWAY_REQUIRE_PG") == "1"
#: the provenance of what the fixtures set up before a test (organisations, certificates, NSI)
TEST_SETUP = Provenance.of_operator("pytest", "test fixtures", role="operator")


@pytest.fixture(scope="session")
def org_entries() -> list[orgfile.OrgEntry]:
    return orgfile.read(FIXTURES / "organisations.toml")


@dataclass
class Pki:
    ca: keys.Issued
    by_org: dict[str, keys.Issued]
    gateway: keys.Issued  # the gateway's answer-signing pair


@pytest.fixture(scope="session")
def pki(org_entries: list[orgfile.OrgEntry]) -> Pki:
    """A TEST-ONLY CA and one certificate per fixture organisation, made fresh for the run."""
    ca = keys.issue_test_ca()
    by_org = {
        str(e.organisation.guid): keys.issue_test_certificate(
            ca, org_name=e.organisation.name, ogrn=str(e.organisation.ogrn), inn=str(e.organisation.inn),
            algorithm=e.key_algorithm)
        for e in org_entries
    }
    return Pki(ca, by_org, keys.issue_test_gateway_certificate(ca))


def _postgres_schema() -> Iterator[tuple[str, str]]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("GATEWAY_REQUIRE_PG=1 but GATEWAY_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL tests need GATEWAY_TEST_PG_URL")
    schema = f"gw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, pool_pre_ping=True)  # survives the fault tests restarting the server
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - an unreachable server fails or skips with the reason
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL at GATEWAY_TEST_PG_URL is not usable: {exc}")
        pytest.skip(f"PostgreSQL not usable: {exc}")
    try:
        yield PG_URL, schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return str(request.param)


@pytest.fixture
def database(database_kind: str, tmp_path: Path) -> Iterator[DatabaseConfig]:
    if database_kind == "sqlite":
        yield DatabaseConfig(url=f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
        return
    for url, schema in _postgres_schema():
        yield DatabaseConfig(url=url, schema=schema)


@pytest.fixture
def config(database: DatabaseConfig) -> Config:
    return Config(database=database, worker=WorkerConfig(poll_interval=0.02, lease_seconds=30, max_attempts=3))


@pytest.fixture
def gateway(config: Config, org_entries: list[orgfile.OrgEntry], pki: Pki) -> Iterator[bootstrap.Gateway]:
    """A migrated registry with the fixture organisations and their certificates registered."""
    built = bootstrap.build(config, upgrade=True, signer=Signer(pki.gateway.key, pki.gateway.cert))
    with built.unit_of_work(TEST_SETUP) as uow:
        for entry in org_entries:
            uow.organisations.add(entry.organisation)
            if entry.jurisdiction:
                uow.organisations.set_jurisdiction(entry.organisation.guid, entry.jurisdiction, at=datetime.now(UTC))
            uow.organisations.register_certificate(entry.organisation.guid,
                                                   keys.describe(pki.by_org[str(entry.organisation.guid)].cert))
        uow.commit()
    nsifile.load(built.unit_of_work(TEST_SETUP), [FIXTURES / "nsi"], datetime.now(UTC))
    post_documents(built, org_entries)
    yield built
    built.engine.dispose()


def management_contract(houses: list[str], *, number: str = "УК-тест", start: str = "2020-01-01") -> etree._Element:
    """The fixture management contract (``importContractRequest``) for other houses, fresh TransportGUIDs."""
    root = parse_untrusted((FIXTURES / "contracts" / "sever-management.xml").read_bytes())
    placing = root.find(f".//{{{HM}}}PlacingContract")
    template = placing.find(f"{{{HM}}}ContractObject")
    for old in placing.findall(f"{{{HM}}}ContractObject"):
        placing.remove(old)
    for fias in houses:
        managed = copy.deepcopy(template)
        managed.find(f"{{{HM}}}FIASHouseGuid").text = fias
        managed.find(f"{{{HM}}}StartDate").text = start
        placing.append(managed)
    placing.find(f"{{{HM}}}DocNum").text = number
    for transport in root.iter(f"{{{BASE}}}TransportGUID"):
        transport.text = str(uuid.uuid4())
    return root


#: operations of the messages every ``gateway`` fixture holds before a test starts
SEED_OPERATIONS = ("importContractData", "importCharterData", "importSupplyResourceContractData")
#: how many: one per contract or charter of the fixture organisations
SEED_MESSAGES = sum(len(entry.documents) for entry in orgfile.read(FIXTURES / "organisations.toml"))


def post_documents(built: bootstrap.Gateway, entries: list[orgfile.OrgEntry]) -> None:
    """Each fixture organisation's contracts and charters, queued and processed by the real worker.

    Its houses' data are accepted only from the organisation a contract or charter gives them to; the
    e2e tests post these over SOAP themselves where the posting is what they test.
    """
    now = datetime.now(UTC)
    with built.unit_of_work() as uow:
        for entry in entries:
            for path in entry.documents:
                body = path.read_bytes()
                operation = by_body(HOUSE_MANAGEMENT, parse_untrusted(body).tag)
                assert operation is not None, path
                queue.accept(uow.connection, org=entry.organisation.guid, requester_message_guid=Guid.new(),
                             service=HOUSE_MANAGEMENT.name, operation=operation.name, request=body, payload=body,
                             now=now)
        uow.commit()
    built.worker.drain()
    with built.engine.connect() as connection:
        states = connection.execute(text("SELECT state, result FROM messages")).all()
    assert all(state == "done" and b"Error>" not in result for state, result in states), states


def message_uow(engine: Engine, org: Guid, *, operation: str = "test", body: bytes = b"<x/>",
                now: datetime | None = None) -> UnitOfWork:
    """A unit of work that processes a message of ``org``, as the worker would (stored first, then its writes
    name it as their provenance)."""
    with UnitOfWork(engine) as uow:
        guid, _ = queue.accept(uow.connection, org=org, requester_message_guid=Guid.new(), service="test",
                               operation=operation, request=body, payload=body, now=now or datetime.now(UTC))
        uow.commit()
    return UnitOfWork(engine, Provenance.of_message(guid, org))


@pytest.fixture
def engine(gateway: bootstrap.Gateway) -> Engine:
    return gateway.engine


@pytest.fixture
def server(gateway: bootstrap.Gateway) -> Iterator[EmbeddedServer]:
    """The gateway's HTTP server on 127.0.0.1 (no worker: tests drain the queue themselves)."""
    with EmbeddedServer(gateway.app) as running:
        yield running


@pytest.fixture
def live_worker(gateway: bootstrap.Gateway) -> Iterator[WorkerThread]:
    worker = WorkerThread(gateway.worker).start()
    yield worker
    worker.stop()


SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
HM_PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"


class Envelopes:
    """Builds raw SOAP 1.1 requests the way provider software does, for tests below zeep's level."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki

    @staticmethod
    def wrap(body: bytes | None, *, org: str, message_guid: str | None = None, header: bool = True) -> bytes:
        from lxml import etree

        envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP, "base": BASE})
        if header:
            request_header = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP}}}Header"),
                                              f"{{{BASE}}}RequestHeader")
            etree.SubElement(request_header, f"{{{BASE}}}Date").text = "2026-11-23T12:00:00+03:00"
            etree.SubElement(request_header, f"{{{BASE}}}MessageGUID").text = message_guid or str(uuid.uuid4())
            etree.SubElement(request_header, f"{{{BASE}}}orgPPAGUID").text = org
        body_el = etree.SubElement(envelope, f"{{{SOAP}}}Body")
        if body is not None:
            body_el.append(etree.fromstring(body))
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    def signed(self, body: bytes, *, org: str, signer: str | None = None, message_guid: str | None = None) -> bytes:
        from lxml import etree

        from gateway.signing import sign
        from gateway.xmlparse import parse_untrusted

        element = parse_untrusted(body)
        issued = self.pki.by_org[signer or org]
        sign(element, key=issued.key, cert=issued.cert)
        return self.wrap(etree.tostring(element), org=org, message_guid=message_guid)

    @staticmethod
    def get_state(message_guid: str, *, org: str) -> bytes:
        body = (f'<base:getStateRequest xmlns:base="{BASE}"><base:MessageGUID>{message_guid}'
                f"</base:MessageGUID></base:getStateRequest>").encode()
        return Envelopes.wrap(body, org=org)


@pytest.fixture(scope="session")
def envelopes(pki: Pki) -> Envelopes:
    return Envelopes(pki)
