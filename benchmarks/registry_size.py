"""Exports on a large registry: exportAccountData for one house and exportHouseData, with N accounts stored.

The registry (houses of 100 flats, one account per flat) is bulk-loaded straight into the tables — setup,
not measured; then each export goes the whole way through the gateway: signed request over HTTP → Ack →
worker → getState answer. Size: GATEWAY_BENCH_ACCOUNTS (default 1,000,000).
"""

from __future__ import annotations

import copy
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
from lxml import etree
from sqlalchemy import insert

from benchmarks.load import BASE, HM, PATH, envelope
from benchmarks.setup import BENCH_SETUP, settled_heap
from gateway import bootstrap, orgfile
from gateway.config import Config, DatabaseConfig
from gateway.domain.accounts import service_id, unified_account_number
from gateway.messages import queue
from gateway.registry.tables import account_accommodations, accounts, houses, premises
from gateway.signing import Signer, keys, sign
from gateway.soap.server import EmbeddedServer

ROOT = Path(__file__).resolve().parent.parent
PER_HOUSE = 100
CHUNK = 20_000
ROUNDS = 5  # each export measured this many times, the median printed


def _load(gateway: bootstrap.Gateway, org: str, total: int) -> str:
    """Bulk-load ``total`` accounts in houses of 100 flats; returns one house's FIAS GUID."""
    now = datetime.now(UTC)
    house_rows, premises_rows, account_rows, accommodation_rows = [], [], [], []
    fias_sample = ""
    serial = 0

    def flush(force: bool = False) -> None:
        if not force and len(account_rows) < CHUNK:
            return
        with gateway.engine.begin() as connection:
            for table, rows in ((houses, house_rows), (premises, premises_rows), (accounts, account_rows),
                                (account_accommodations, accommodation_rows)):
                if rows:
                    connection.execute(insert(table), rows)
                rows.clear()

    for h in range(total // PER_HOUSE):
        house, fias = str(uuid.uuid4()), str(uuid.uuid4())
        fias_sample = fias_sample or fias
        house_rows.append({
            "id": h + 1, "guid": house, "fias_house_guid": fias, "unique_number": f"{h + 1:025d}-00000",
            "house_type": "apartment", "cadastral_status": "number", "cadastral_number": f"77:02:{h:07d}:1",
            "total_square": 5400, "state_code": "2", "state_guid": str(uuid.uuid4()), "used_year": 1975,
            "floor_count": 9, "underground_floor_count": 1, "oktmo": "45362000", "olson_tz_code": "1",
            "olson_tz_guid": str(uuid.uuid4()), "cultural_heritage": False, "posted_by": org,
            "version_guid": str(uuid.uuid4()), "created_at": now, "updated_at": now})
        for f in range(PER_HOUSE):
            serial += 1
            flat, account = str(uuid.uuid4()), str(uuid.uuid4())
            els = unified_account_number("45", serial)
            premises_rows.append({
                "id": serial, "guid": flat, "house_guid": house, "kind": "residential", "number": str(f + 1),
                "cadastral_status": "number", "cadastral_number": f"77:02:{h:07d}:{f + 2}", "total_area": 54.3,
                "version_guid": str(uuid.uuid4()), "created_at": now, "updated_at": now})
            account_rows.append({
                "id": serial, "guid": account, "unified_number": els, "account_type": "uo", "posted_by": org,
                "payer_kind": "person", "payer_surname": f"Плательщик{serial}", "payer_first_name": "Иван",
                "is_renter": False, "living_persons": 2, "total_square": 54.3, "version_guid": str(uuid.uuid4()),
                "created_at": now, "updated_at": now})
            accommodation_rows.append({"account_guid": account, "ordinal": 1, "premises_guid": flat,
                                       "house_guid": house, "service_id": service_id(els, 1)})
        flush()
    flush(force=True)
    return fias_sample


def _roundtrip(server: EmbeddedServer, gateway: bootstrap.Gateway, body: etree._Element, issued: keys.Issued,
               org: str, action: str) -> tuple[float, float, float, int]:
    sign(body, key=issued.key, cert=issued.cert)
    session = requests.Session()
    t0 = time.perf_counter()
    ack = session.post(server.url + PATH, data=envelope(body, org), timeout=60,
                       headers={"Content-Type": "text/xml", "SOAPAction": f"urn:{action}"})
    t1 = time.perf_counter()
    gateway.worker.drain()
    t2 = time.perf_counter()
    guid = etree.fromstring(ack.content).findtext(f".//{{{BASE}}}Ack/{{{BASE}}}MessageGUID")
    state = session.post(server.url + PATH, timeout=60, headers={"SOAPAction": "urn:getState"}, data=envelope(
        etree.fromstring(f'<base:getStateRequest xmlns:base="{BASE}"><base:MessageGUID>{guid}</base:MessageGUID>'
                         "</base:getStateRequest>"), org))
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, len(state.content)


def run(label: str, database: DatabaseConfig) -> None:
    total = int(os.environ.get("GATEWAY_BENCH_ACCOUNTS", "1000000"))
    entries = orgfile.read(ROOT / "fixtures" / "organisations.toml")
    mc = entries[0].organisation
    ca = keys.issue_test_ca()
    issued = keys.issue_test_certificate(ca, org_name="bench", ogrn=str(mc.ogrn), inn=str(mc.inn), algorithm="gost")
    answers = keys.issue_test_gateway_certificate(ca)
    gateway = bootstrap.build(Config(database=database), upgrade=True, signer=Signer(answers.key, answers.cert))
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        uow.organisations.add(mc)
        uow.organisations.register_certificate(mc.guid, keys.describe(issued.cert))
        uow.commit()
    started = time.perf_counter()
    fias = _load(gateway, str(mc.guid), total)
    loaded = time.perf_counter() - started
    if gateway.engine.dialect.name == "postgresql":  # what autovacuum would otherwise do during the measurement
        with gateway.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("houses", "premises", "accounts", "account_accommodations"):
                connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    with EmbeddedServer(gateway.app) as server, settled_heap():
        account_body = etree.fromstring(
            f'<hm:exportAccountRequest xmlns:hm="{HM}" xmlns:base="{BASE}" Id="signed-data-container" '
            f'base:version="10.0.1.1"><hm:FIASHouseGuid>{fias}</hm:FIASHouseGuid></hm:exportAccountRequest>')
        house_body = etree.fromstring(
            f'<hm:exportHouseRequest xmlns:hm="{HM}" xmlns:base="{BASE}" Id="signed-data-container" '
            f'base:version="15.10.0.0"><hm:FIASHouseGuid>{fias}</hm:FIASHouseGuid></hm:exportHouseRequest>')
        for name, body, action in (("exportAccountData (1 house, 100 accounts)", account_body, "exportAccountData"),
                                   ("exportHouseData (1 house, 100 flats)", house_body, "exportHouseData")):
            runs = [_roundtrip(server, gateway, copy.deepcopy(body), issued, str(mc.guid), action)
                    for _ in range(ROUNDS)]
            ack, process, state = (statistics.median(r[i] for r in runs) for i in range(3))
            print(f"{label:<9} {total:>9,} accounts | {name:<42} ack {ack * 1000:6.1f} ms  processing "
                  f"{process * 1000:6.1f} ms  getState {state * 1000:6.1f} ms ({runs[0][3] / 1024:.0f} KiB), "
                  f"median of {ROUNDS}")
    print(f"{label:<9} (registry bulk-loaded in {loaded:.0f} s, not measured)")
    with gateway.engine.connect() as connection:
        assert queue.depth(connection).get("done") == 2 * ROUNDS
    gateway.engine.dispose()
