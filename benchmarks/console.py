"""The web console's main pages on a large registry: server time per page, as ms and as a multiple of the
login page (no data read) measured in the same run.

Setup (not measured): N premises in houses of 100 (``gateway.sync.sources.synthetic``, four regions), all
managed by one management company under one contract; M messages of it; D open discrepancies; console
accounts of each role. Then the gateway's own HTTP front with the console mounted, in-process; each page is
fetched ``REPEAT`` times by a logged-in client and the median of the server's time (the front's access log:
from the complete request to the last byte sent) is printed. Sizes: GATEWAY_BENCH_CONSOLE premises (default
1,000,000), GATEWAY_BENCH_CONSOLE_MESSAGES (default 100,000), GATEWAY_BENCH_CONSOLE_DISCREPANCIES (default
50,000).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import statistics
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import insert

from benchmarks.reconciliation import PER_HOUSE
from benchmarks.setup import BENCH_SETUP
from gateway import bootstrap, orgfile
from gateway.config import Config, ConsoleConfig, DatabaseConfig
from gateway.console import accounts
from gateway.console.mount import web
from gateway.registry.tables import discrepancies, documents, houses, mandates, messages, premises
from gateway.soap import server as embedded
from gateway.sync.sources.synthetic import world

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 5
#: seconds past which a page is fetched once only
SLOW = 5.0
PASSWORD = "bench password, not a secret"
_TIMES: dict[str, list[float]] = {}
_LOCK = threading.Lock()


def _record(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], sent: int, seconds: float) -> None:
    with _LOCK:
        _TIMES.setdefault(environ["RAW_URI"], []).append(seconds)


def _load_with_history(gateway: bootstrap.Gateway, org: str, facts: Any, document: str) -> None:
    """Houses, premises, one management contract over every house and its mandates, through the history writer
    (``History.capture``, a change set per 10,000 premises), so the registry's as-of reads — the compliance
    report's — see them as they would see posted data."""
    now = datetime.now(UTC)
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        uow.connection.execute(insert(documents).values(
            guid=document, version_guid=str(uuid.uuid4()), version_number=1, kind="contract", org_guid=org,
            number="УК-bench", signed_on=date(2020, 1, 1), effective_on=date(2020, 1, 1), state="approved",
            metering_end_day=25, metering_end_next_month=False, created_at=now, updated_at=now))
        uow.history.capture(documents, "guid", [document], new=True)
        uow.commit()
    serial, houses_, premises_, mandates_ = 0, [], [], []

    def flush() -> None:
        with gateway.unit_of_work(BENCH_SETUP) as uow:
            uow.connection.execute(insert(houses), houses_)
            uow.connection.execute(insert(premises), premises_)
            uow.connection.execute(insert(mandates), mandates_)
            uow.history.capture(houses, "guid", [h["guid"] for h in houses_], new=True)
            uow.history.capture(premises, "guid", [p["guid"] for p in premises_], new=True)
            uow.commit()
        houses_.clear()
        premises_.clear()
        mandates_.clear()

    for house in facts.houses():
        guid = str(uuid.UUID(int=house.index + 1))
        houses_.append({"id": house.index + 1, "guid": guid, "fias_house_guid": house.fias_guid,
                        "unique_number": f"{house.index + 1:025d}-00000", "house_type": "apartment",
                        "cadastral_status": "number", "cadastral_number": house.cadastral_number,
                        "total_square": 5400, "state_code": "2", "state_guid": guid, "used_year": 1975,
                        "floor_count": 9, "underground_floor_count": 1, "oktmo": house.oktmo, "olson_tz_code": "1",
                        "olson_tz_guid": guid, "cultural_heritage": False, "posted_by": org, "version_guid": guid,
                        "created_at": now, "updated_at": now})
        mandates_.append({"object_version_guid": str(uuid.uuid4()), "document_guid": document, "kind": "contract",
                          "org_guid": org, "fias_house_guid": house.fias_guid, "starts_on": date(2020, 1, 1),
                          "ends_on": None, "annulled": False})
        for fact in facts.premises_of(house):
            serial += 1
            number = fact.registry_cadastral_number
            premises_.append({"id": serial, "guid": fact.gar_guid, "house_guid": guid,
                              "kind": "residential" if fact.residential else "non_residential", "number": fact.number,
                              "cadastral_status": "number" if number else "missing", "cadastral_number": number,
                              "total_area": fact.area, "version_guid": fact.gar_guid, "created_at": now,
                              "updated_at": now})
        if len(premises_) >= 10_000:
            flush()
    if houses_:
        flush()
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        uow.history.capture(mandates, "document_guid", [document], new=True)
        uow.commit()


def _setup(gateway: bootstrap.Gateway, size: int, n_messages: int, n_discrepancies: int) -> dict[str, str]:
    entries = {e.organisation.role: e for e in orgfile.read(ROOT / "fixtures" / "organisations.toml")}
    mc, regulator, operator = (entries[r].organisation for r in ("management_company", "regulator", "operator"))
    with gateway.unit_of_work(BENCH_SETUP) as uow:
        for org in (mc, regulator, operator):
            if uow.organisations.get(org.guid) is None:
                uow.organisations.add(org)
        uow.organisations.set_jurisdiction(regulator.guid, ("45",), at=datetime.now(UTC))
        uow.commit()
    facts = world(2026, size // PER_HOUSE, PER_HOUSE)
    document = str(uuid.uuid4())
    _load_with_history(gateway, str(mc.guid), facts, document)
    now = datetime.now(UTC)
    first_message = ""
    for start in range(0, n_messages, 10_000):
        rows = []
        for n in range(start, min(start + 10_000, n_messages)):
            guid = str(uuid.UUID(int=(1 << 100) + n))
            first_message = first_message or guid
            rows.append({"guid": guid, "requester_message_guid": str(uuid.uuid4()), "org_guid": str(mc.guid),
                         "service": "house-management", "operation": "importHouseUOData",
                         "state": "dead" if n % 1000 == 0 else "done", "received_at": now - timedelta(minutes=n),
                         "processed_at": now, "attempts": 1, "request": b"<bench/>", "payload": b"<bench/>",
                         "result": None})
        with gateway.engine.begin() as connection:
            connection.execute(insert(messages), rows)
    first_discrepancy = ""
    for start in range(0, n_discrepancies, 10_000):
        rows = []
        for n in range(start, min(start + 10_000, n_discrepancies)):
            guid = str(uuid.UUID(int=(2 << 100) + n))
            first_discrepancy = first_discrepancy or guid
            rows.append({"id": guid, "identity": hashlib.sha256(guid.encode()).hexdigest(), "job": "cadastral",
                         "kind": "cadastral.candidate", "severity": "warning", "object_type": "premises",
                         "object_guid": guid, "house_guid": None, "fias_house_guid": None, "org_guid": str(mc.guid),
                         "summary": f"bench discrepancy {n}", "evidence": {"n": n}, "suggested_fix": None,
                         "score": None, "status": "open", "first_run": guid, "last_run": guid,
                         "first_seen_at": now, "last_seen_at": now - timedelta(seconds=n)})
        with gateway.engine.begin() as connection:
            connection.execute(insert(discrepancies), rows)
    for login, org, role in (("bench-support", operator, "support"), ("bench-inspector", regulator, "regulator"),
                             ("bench-provider", mc, "provider")):
        accounts.add(gateway.engine, login=login, org=str(org.guid), role=role, password=PASSWORD, actor="bench")
    house = next(iter(facts.houses())).fias_guid  # OKTMO 45: inside the regulator's jurisdiction
    return {"mc": str(mc.guid), "house": house, "message": first_message, "discrepancy": first_discrepancy}


def _session(url: str, login: str) -> requests.Session:
    session = requests.Session()
    page = session.get(url + "/console/login", timeout=120)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = session.post(url + "/console/login", data={"csrf_token": token.group(1), "login": login,
                                                        "password": PASSWORD}, allow_redirects=False, timeout=120)
    assert answer.status_code == 302, answer.text[:500]
    return session


def run(label: str, database: DatabaseConfig) -> None:
    size = int(os.environ.get("GATEWAY_BENCH_CONSOLE", "1000000"))
    n_messages = int(os.environ.get("GATEWAY_BENCH_CONSOLE_MESSAGES", "100000"))
    n_discrepancies = int(os.environ.get("GATEWAY_BENCH_CONSOLE_DISCREPANCIES", "50000"))
    config = Config(database=database, console=ConsoleConfig(secret=secrets.token_urlsafe(48)))
    gateway = bootstrap.build(config, upgrade=True, answers=False)
    started = time.perf_counter()
    ids = _setup(gateway, size, n_messages, n_discrepancies)
    loaded = time.perf_counter() - started
    print(f"\nConsole pages, {label}: {size:,} premises in {size // PER_HOUSE:,} houses, {n_messages:,} messages, "
          f"{n_discrepancies:,} open discrepancies (set up in {loaded:.0f} s, not measured); median server time of "
          f"{REPEAT} requests, and as a multiple of the login page")
    pages = [
        ("login page (baseline)", None, "/console/login"),
        ("compliance, regulator (OKTMO 45)", "bench-inspector", "/console/compliance"),
        ("compliance, provider (own)", "bench-provider", "/console/compliance"),
        ("organisations, regulator", "bench-inspector", "/console/organisations"),
        ("organisation (houses page 1)", "bench-provider", f"/console/organisations/{ids['mc']}"),
        ("house (100 premises)", "bench-provider", f"/console/houses/{ids['house']}"),
        ("discrepancies page 1", "bench-support", "/console/discrepancies"),
        ("discrepancies page 100", "bench-support", "/console/discrepancies?page=100"),
        ("discrepancies of the provider", "bench-provider", "/console/discrepancies"),
        ("messages page 1", "bench-support", "/console/messages"),
        ("messages of the provider, dead", "bench-provider", "/console/messages?state=dead"),
        ("message", "bench-support", f"/console/messages/{ids['message']}"),
        ("reconciliation runs", "bench-support", "/console/runs"),
        ("audit log", "bench-support", "/console/audit"),
    ]
    server = embedded.EmbeddedServer(web(gateway))
    server.front.access = _record
    with server:
        sessions = {login: _session(server.url, login) for login in ("bench-support", "bench-inspector",
                                                                        "bench-provider")}
        baseline = None
        for name, login, path in pages:
            client = sessions[login] if login else requests.Session()
            repeat = REPEAT
            for n in range(REPEAT):
                before = len(_TIMES.get(path, ()))
                answer = client.get(server.url + path, timeout=600, allow_redirects=False)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                deadline = time.monotonic() + 5
                while len(_TIMES.get(path, ())) == before and time.monotonic() < deadline:
                    time.sleep(0.005)  # the front logs a request just after its last byte has gone
                if n == 0 and _TIMES[path][-1] > SLOW:  # a page this slow is measured once: the figure says enough
                    repeat = 1
                    break
            median = statistics.median(_TIMES[path][-repeat:]) * 1000
            baseline = baseline or median
            print(f"  {name:<36} {median:9.1f} ms  ×{median / baseline:7.1f}" + ("  (once)" if repeat == 1 else ""),
                  flush=True)
    gateway.engine.dispose()
