"""`make bench`: throughput through the gateway, as ratios to a floor measured in the same run.

importHouseUOData one sender at a time; under load (8 concurrent senders, `gateway serve` + `gateway worker`
processes) importAccountData of 100 accounts and importMeteringDeviceValues of 1,000 readings; exports on a
registry of a million accounts.

Floor = what any receiver of a signed GIS ZhKKh message must do at least: lxml parse + XSD validation +
XAdES signature verification of the same bytes, no HTTP, no database. Measured for a small house (the
fixture: 8 objects) and a large one (1 house + 1,000 premises, 1,001 objects), on SQLite and, when
GATEWAY_BENCH_PG_URL (or GATEWAY_TEST_PG_URL) is set, on PostgreSQL in a scratch schema.

Figures: ms per message for the floor; accept (HTTP POST → signature, schema, store → Ack) and
end-to-end (accept + worker processing into the registry); each also as a multiple of the floor.

Part ``soak`` (PostgreSQL only, about 3 minutes): the deployment under paced senders with a worker
killed, a gunicorn worker killed and the database restarted; recovery times, memory per process and
the end state (benchmarks/soak.py).
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
from lxml import etree
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.setup import BENCH_SETUP, answered_with_errors, fias_of, grant, house_body, settled_heap  # noqa: E402
from gateway import bootstrap, orgfile  # noqa: E402
from gateway.config import Config, DatabaseConfig, WorkerConfig  # noqa: E402
from gateway.signing import Signer, keys, sign, verify  # noqa: E402
from gateway.soap.server import EmbeddedServer  # noqa: E402
from gateway.xmlparse import parse_untrusted  # noqa: E402
from gateway.xsd import Service, validate  # noqa: E402

HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"


def envelope(body: etree._Element, issued: keys.Issued) -> bytes:
    sign(body, key=issued.key, cert=issued.cert)
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP, "base": BASE})
    header = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Header"), f"{{{BASE}}}RequestHeader")
    etree.SubElement(header, f"{{{BASE}}}Date").text = "2026-11-23T12:00:00+03:00"
    etree.SubElement(header, f"{{{BASE}}}MessageGUID").text = str(uuid.uuid4())
    etree.SubElement(header, f"{{{BASE}}}orgPPAGUID").text = MC
    etree.SubElement(env, f"{{{SOAP}}}Body").append(body)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def floor(message: bytes) -> float:
    started = time.perf_counter()
    body = parse_untrusted(message).find(f"{{{SOAP}}}Body")[0]
    validate(body, Service.HOUSE_MANAGEMENT)
    verify(body)
    return time.perf_counter() - started


def run_case(name: str, database: DatabaseConfig, premises: int | None, count: int) -> None:
    entries = orgfile.read(ROOT / "fixtures" / "organisations.toml")
    ca = keys.issue_test_ca()
    answers = keys.issue_test_gateway_certificate(ca)
    gateway = bootstrap.build(Config(database=database, worker=WorkerConfig(poll_interval=0.01)), upgrade=True,
                              signer=Signer(answers.key, answers.cert))
    issued = keys.issue_test_certificate(ca, org_name="bench", ogrn="1027700999017", inn="7709990015")
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        uow.organisations.add(entries[0].organisation)
        uow.organisations.register_certificate(entries[0].organisation.guid, keys.describe(issued.cert))
        uow.commit()
    bodies = [house_body(premises) for _ in range(count)]
    grant(gateway, entries[0].organisation.guid, [fias_of(b) for b in bodies])
    messages = [envelope(body, issued) for body in bodies]
    objects = len(parse_untrusted(messages[0]).findall(f".//{{{BASE}}}TransportGUID"))
    session = requests.Session()
    accept_times = []
    with settled_heap(), EmbeddedServer(gateway.app) as server:
        floor_s = statistics.median(floor(m) for m in messages)  # under the same collector settings
        started = time.perf_counter()
        for message in messages:
            t = time.perf_counter()
            response = session.post(server.url + PATH, data=message, timeout=60,
                                    headers={"Content-Type": "text/xml", "SOAPAction": "urn:importHouseUOData"})
            accept_times.append(time.perf_counter() - t)
            assert response.status_code == 200, response.text[:500]
        accepted_at = time.perf_counter()
        processed = gateway.worker.drain()
        finished = time.perf_counter()
    assert processed == count
    with gateway.engine.connect() as connection:  # a refusal is fast: a benchmark of refusals proves nothing
        refused = answered_with_errors(connection, "importHouseUOData")
    assert refused == 0, f"{refused} message(s) answered with errors"
    accept_s = statistics.median(accept_times)
    e2e_s = (finished - started) / count
    print(f"{name:<34} {len(messages[0]) / 1024:7.0f} KiB {objects:6d} obj | floor {floor_s * 1000:7.1f} ms | "
          f"accept {accept_s * 1000:7.1f} ms ({accept_s / floor_s:4.1f}x) | "
          f"end-to-end {e2e_s * 1000:7.1f} ms ({e2e_s / floor_s:4.1f}x) = {objects / e2e_s:8.0f} obj/s "
          f"[accept {accepted_at - started:.2f} s, process {finished - accepted_at:.2f} s for {count}]")
    gateway.engine.dispose()


def signatures() -> None:
    """Sign and verify one 1,000-record message (1 house + 999 premises) with each algorithm."""
    ca = keys.issue_test_ca()
    body = house_body(999)
    records = len(body.findall(f".//{{{BASE}}}TransportGUID"))
    size = len(etree.tostring(body)) / 1024
    rows = []
    for algorithm in ("rsa", "ecdsa", "gost"):
        issued = keys.issue_test_certificate(ca, org_name="bench", ogrn="1027700999017", inn="7709990015",
                                             algorithm=algorithm)
        sign_times, verify_times = [], []
        for _ in range(7):
            element = copy.deepcopy(body)
            t = time.perf_counter()
            sign(element, key=issued.key, cert=issued.cert)
            sign_times.append(time.perf_counter() - t)
            wire = parse_untrusted(etree.tostring(element))
            t = time.perf_counter()
            verify(wire)
            verify_times.append(time.perf_counter() - t)
        rows.append((algorithm, statistics.median(sign_times), statistics.median(verify_times)))
    rsa_verify = rows[0][2]
    print(f"XAdES-BES on one {records}-record message ({size:.0f} KiB), median of 7:")
    for algorithm, sign_s, verify_s in rows:
        print(f"  {algorithm:<6} sign {sign_s * 1000:6.1f} ms   verify {verify_s * 1000:6.1f} ms "
              f"({verify_s / rsa_verify:.2f}x RSA verify)")
    print("  (target: GOST verify within 3x of RSA verify)\n")


def _pg_url() -> str:
    return os.environ.get("GATEWAY_BENCH_PG_URL") or os.environ.get("GATEWAY_TEST_PG_URL") or ""


def _on_each_database(part: Callable[[str, DatabaseConfig], None]) -> None:
    """Run ``part`` on a scratch SQLite file, then (if configured) in a scratch PostgreSQL schema."""
    with tempfile.TemporaryDirectory() as scratch:
        part("SQLite", DatabaseConfig(url=f"sqlite:///{scratch}/{uuid.uuid4().hex}.sqlite3"))
    pg_url = _pg_url()
    if not pg_url:
        print("PostgreSQL: skipped (set GATEWAY_BENCH_PG_URL)")
        return
    admin = create_engine(pg_url)
    schema = f"gw_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        part("Postgres", DatabaseConfig(url=pg_url, schema=schema))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _on_postgres(part: Callable[[DatabaseConfig, Path], None]) -> None:
    """Run ``part`` in a scratch PostgreSQL schema (and a scratch folder), or say why not."""
    pg_url = _pg_url()
    if not pg_url:
        print("PostgreSQL: skipped (set GATEWAY_BENCH_PG_URL)")
        return
    admin = create_engine(pg_url, pool_pre_ping=True)  # the soak restarts the server
    schema = f"gw_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        with tempfile.TemporaryDirectory() as scratch:
            part(DatabaseConfig(url=pg_url, schema=schema), Path(scratch))
    finally:
        for _ in range(60):  # the server may be coming back from a restart
            try:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                break
            except OperationalError:
                time.sleep(1)
        admin.dispose()


def soak_part() -> None:
    from benchmarks import soak

    print("\nSoak with faults (GATEWAY_BENCH_SOAK_SECONDS, default 180):")
    _on_postgres(soak.run)


def houses_part(label: str, database: DatabaseConfig) -> None:
    for name, premises, count in (("small house (fixture)", None, 60), ("large house (1,000 premises)", 1000, 6)):
        if label == "Postgres" and database.schema:
            admin = create_engine(database.url)
            with admin.begin() as connection:  # each case on an empty registry
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE; '
                                        f'CREATE SCHEMA "{database.schema}"'))
            admin.dispose()
            run_case(f"{label:<8} {name}", database, premises, count)
        else:
            with tempfile.TemporaryDirectory() as scratch:
                run_case(f"{label:<8} {name}", DatabaseConfig(url=f"sqlite:///{scratch}/h.sqlite3"), premises, count)


def load_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import load

    # GATEWAY_BENCH_ACCOUNT_MESSAGES: 40 messages were done in about a second, and the ratio moved ±0.15 from one
    # run to the next; 160 take 3–5 s
    count = int(os.environ.get("GATEWAY_BENCH_ACCOUNT_MESSAGES", "160"))
    with tempfile.TemporaryDirectory() as scratch:
        load.run(label, database, Path(scratch), concurrency=2 if label == "Postgres" else 1, messages_count=count)


def readings_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import readings

    with tempfile.TemporaryDirectory() as scratch:
        readings.run(label, database, Path(scratch), concurrency=2 if label == "Postgres" else 1)


def registry_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import registry_size

    print("\nExports on a large registry (GATEWAY_BENCH_ACCOUNTS, default 1,000,000 accounts):")
    registry_size.run(label, database)


def as_of_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import as_of

    as_of.run(label, database)


def reconcile_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import reconciliation

    reconciliation.run(label, database)


def accept_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import accept

    with tempfile.TemporaryDirectory() as scratch:
        accept.run(label, database, Path(scratch))


def size_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import ingest_size

    with tempfile.TemporaryDirectory() as scratch:
        ingest_size.run(label, database, Path(scratch))


def history_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import history

    with tempfile.TemporaryDirectory() as scratch:
        history.run(label, database, Path(scratch))


def compliance_part() -> None:
    """On PostgreSQL only (the report's production database; the registry is built there by SQL)."""
    from benchmarks import compliance

    pg_url = _pg_url()
    if not pg_url:
        print("\nCompliance report: skipped (PostgreSQL only; set GATEWAY_BENCH_PG_URL)")
        return
    schema = f"gw_bench_{uuid.uuid4().hex[:10]}"
    try:
        compliance.run(DatabaseConfig(url=pg_url, schema=schema))
    finally:
        admin = create_engine(pg_url)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
def console_part(label: str, database: DatabaseConfig) -> None:
    from benchmarks import console

    console.run(label, database)


def provider_part() -> None:
    from benchmarks import provider_push

    provider_push.run_all()  # the provider toolkit (SQLite, and PostgreSQL when configured)


#: the parts of `make bench`, in order; `python -m benchmarks.run PART…` runs some of them
PARTS: dict[str, Callable[[], None]] = {
    "signatures": lambda: signatures(),
    "houses": lambda: _on_each_database(houses_part),
    "accept": lambda: _on_each_database(accept_part),
    "load": lambda: _on_each_database(load_part),
    "readings": lambda: _on_each_database(readings_part),
    "history": lambda: _on_each_database(history_part),
    "size": lambda: _on_each_database(size_part),
    "registry": lambda: _on_each_database(registry_part),
    "as-of": lambda: _on_each_database(as_of_part),
    "reconcile": lambda: _on_each_database(reconcile_part),
    "compliance": lambda: compliance_part(),
    "provider": lambda: provider_part(),
    "soak": lambda: soak_part(),
    "console": lambda: _on_each_database(console_part),
}


def main() -> None:
    wanted = sys.argv[1:] or list(PARTS)
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        raise SystemExit(f"unknown benchmark part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    print("dom-gateway benchmark; every figure is also given as a ratio to a floor or baseline measured in this "
          f"run (parts: {', '.join(wanted)})")
    print(f"machine: {machine_load()} before the first part\n")
    for part in wanted:
        PARTS[part]()
        print(f"  [{part}: done; machine {machine_load()}]\n")


def machine_load() -> str:
    """The machine's load averages (1, 5, 15 minutes) and cores, so a run's figures can be read against what
    else the machine was doing: the bench's own processes count in them too."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


if __name__ == "__main__":
    main()
