"""Test helpers for the web console: a registry with the fixture houses, reconciliation findings and a dead
letter, console accounts of every role, the gateway's real HTTP front on 127.0.0.1 (the SOAP app with the
console mounted, as `gateway serve` has it), and a logged-in HTTP session."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import update

from gateway.bootstrap import Gateway
from gateway.config import ConsoleConfig
from gateway.console import accounts
from gateway.console.mount import web
from gateway.domain.model import Organisation
from gateway.registry import reconciliation as store
from gateway.registry.tables import messages
from gateway.services import houses as house_services
from gateway.soap import houses_xml
from gateway.soap.server import EmbeddedServer
from gateway.sync.runner import run_job
from gateway.xmlparse import parse_untrusted
from tests.conftest import message_uow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REFERENCE = FIXTURES / "reference"
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"  # ООО «УК Северный квартал», houses in OKTMO 45
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"  # ТСЖ «Липовая аллея, 7», its house in OKTMO 46
MC2 = "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60"  # ООО «УК Заречье», OKTMO 45
REGULATOR = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"  # jurisdiction ["45"]
OPERATOR = "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"
LIPOVAYA = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
ZARECHYE = "2e49bd1e-05d6-4f27-b2c3-271dbdb48d7b"
PASSWORD = "correct horse battery staple"
LOGINS = {"support": "support-anna", "regulator": "inspector-ivan", "provider": "mc-maria"}
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    gateway: Gateway
    url: str
    #: a discrepancy of the MC's (provider inside) and one of another organisation's
    mc_discrepancy: str
    other_discrepancy: str
    #: a message of the MC's and one of the HOA's; the MC's dead letter
    mc_message: str
    other_message: str
    dead_message: str


def seed(gateway: Gateway, org_entries) -> None:  # type: ignore[no-untyped-def]
    """The fixture houses posted by their organisations; cadastral and address reconciliation run."""
    for entry in org_entries:
        for path in entry.houses:
            with message_uow(gateway.engine, entry.organisation.guid) as uow:
                sender = uow.organisations.get(entry.organisation.guid)
                assert isinstance(sender, Organisation)
                house_services.import_house_uo(uow, sender, houses_xml.decode_import_house_uo(
                    parse_untrusted(path.read_bytes())), message=uow.provenance.message,  # type: ignore[union-attr]
                    now=datetime.now(UTC))
                uow.commit()
    gateway.config = replace(gateway.config, reconciliation=replace(
        gateway.config.reconciliation, cadastral_source=str(REFERENCE / "egrn"), address_source=str(REFERENCE / "gar"),
        licences_source=str(REFERENCE / "licences"), cache_dir=str(Path(gateway.config.database.url[10:]).parent
                                                                   if gateway.config.database.url.startswith("sqlite")
                                                                   else ".reconciliation")))
    for job in ("cadastral", "address", "licences", "authority"):
        run_job(gateway, job, triggered_by="pytest")


def add_users(gateway: Gateway) -> None:
    for role, org in (("support", OPERATOR), ("regulator", REGULATOR), ("provider", MC)):
        accounts.add(gateway.engine, login=LOGINS[role], org=org, role=role, password=PASSWORD, actor="pytest")
    accounts.add(gateway.engine, login="hoa-olga", org=HOA, role="provider", password=PASSWORD, actor="pytest")


def with_console(gateway: Gateway, **settings: object) -> Gateway:
    gateway.config = replace(gateway.config, console=replace(ConsoleConfig(secret=secrets.token_urlsafe(48)),
                                                             **settings))
    return gateway


@dataclass
class _Ids:
    mc_discrepancy: str
    other_discrepancy: str
    mc_message: str
    other_message: str
    dead_message: str


def ids(gateway: Gateway) -> _Ids:
    from gateway.registry.queries import Reader

    with gateway.engine.connect() as connection:
        found = list(store.find(connection, limit=None))
        mine = next(d for d in found if d.org_guid == MC and (d.suggested_fix or {}).get("action") ==
                    "set_cadastral_number")
        other = next(d for d in found if d.org_guid not in (MC, None))
        reader = Reader(connection)
        mc_messages = reader.messages(org=MC, limit=100)
        hoa_message = reader.messages(org=HOA, limit=1)[0]
    dead = mc_messages[-1].guid
    with gateway.engine.begin() as connection:
        connection.execute(update(messages).where(messages.c.guid == dead).values(
            state="dead", last_error="planted: the worker gave up (test)"))
    return _Ids(mine.id, other.id, mc_messages[0].guid, hoa_message.guid, dead)


@contextmanager
def serve_site(gateway: Gateway, org_entries, **settings: object) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """Seeded, with accounts, served by the gateway's own front with the console mounted."""
    seed(gateway, org_entries)
    with_console(gateway, **settings)
    add_users(gateway)
    found = ids(gateway)
    with EmbeddedServer(web(gateway)) as server:
        yield Site(gateway, server.url, found.mc_discrepancy, found.other_discrepancy, found.mc_message,
                   found.other_message, found.dead_message)


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html[:2000]
    return match.group(1) or match.group(2)


class Browser(requests.Session):
    """A console visitor over HTTP: cookies kept, no redirects followed unless asked."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.base = url + "/console"

    def page(self, path: str, **kwargs: object) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.get(self.base + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    def submit(self, path: str, data: dict[str, str], *, token_from: str | None = None,
               token: str | None = None) -> requests.Response:
        """POST a form with the CSRF token of the page ``token_from`` (default: the form's own page)."""
        if token is None:
            token = csrf_token(self.page(token_from or path).text)
        return self.post(self.base + path, data={"csrf_token": token, **data}, allow_redirects=False, timeout=60)

    def log_in(self, login: str, password: str = PASSWORD) -> requests.Response:
        return self.submit("/login", {"login": login, "password": password})


def logged_in(url: str, role_or_login: str) -> Browser:
    browser = Browser(url)
    answer = browser.log_in(LOGINS.get(role_or_login, role_or_login))
    assert answer.status_code == 302, answer.text[:2000]
    return browser
