"""Logins, sessions and forms of the console over real HTTP: wrong passwords, throttling that holds across
server processes, idle expiry, CSRF, forged and malformed input — each a clear page with its code, logged, and
nothing changed; cookie flags; the console beside SOAP in `gateway serve`."""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import replace

import pytest
import requests
from sqlalchemy import select

from gateway.console import accounts
from gateway.console.mount import web
from gateway.registry.tables import audit_log, console_login_attempts, discrepancies
from gateway.soap.server import EmbeddedServer
from tests.integration.console_support import (
    LOGINS,
    PASSWORD,
    Browser,
    Site,
    csrf_token,
    logged_in,
    serve_site,
    with_console,
)


@pytest.fixture
def site(gateway, org_entries):  # type: ignore[no-untyped-def]
    with serve_site(gateway, org_entries, max_failures=3) as served:
        yield served


def _status(site: Site, guid: str) -> str:
    with site.gateway.engine.connect() as connection:
        return str(connection.execute(select(discrepancies.c.status).where(discrepancies.c.id == guid)).scalar())


def test_a_wrong_password_is_refused_with_its_code_and_audited(site: Site) -> None:
    browser = Browser(site.url)
    answer = browser.log_in(LOGINS["support"], "not the password")
    assert answer.status_code == 401 and "CON001001" in answer.text
    assert browser.page("/discrepancies").status_code == 302  # still not logged in: sent to the login page
    unknown = browser.log_in("nobody-at-all", "whatever password")
    assert unknown.status_code == 401 and "CON001001" in unknown.text  # the same answer: no login enumeration
    with site.gateway.engine.connect() as connection:
        refused = connection.execute(select(audit_log.c.actor, audit_log.c.origin).where(
            audit_log.c.action == "console.login", audit_log.c.outcome == "refused")).all()
    assert (LOGINS["support"], "127.0.0.1") in refused


def test_logins_are_throttled_per_login_and_address_across_server_processes(site: Site) -> None:
    browser = Browser(site.url)
    for _ in range(3):
        assert browser.log_in(LOGINS["provider"], "guessing wrong").status_code == 401
    throttled = browser.log_in(LOGINS["provider"])  # even the right password: not checked while throttled
    assert throttled.status_code == 429 and "CON001002" in throttled.text
    with EmbeddedServer(web(site.gateway)) as other_process:  # another app over the same database
        again = Browser(other_process.url).log_in(LOGINS["provider"])
        assert again.status_code == 429 and "CON001002" in again.text
    assert Browser(site.url).log_in(LOGINS["support"]).status_code == 302  # another login is not throttled
    with site.gateway.engine.connect() as connection:
        attempts = connection.execute(select(console_login_attempts.c.succeeded).where(
            console_login_attempts.c.login == LOGINS["provider"])).scalars().all()
    assert attempts == [False, False, False]  # throttled tries are refused before any password check


def test_a_form_without_the_sessions_csrf_token_changes_nothing(site: Site) -> None:
    support = logged_in(site.url, "support")
    path = f"/discrepancies/{site.mc_discrepancy}/acknowledge"
    bare = support.post(support.base + path, data={"note": "x"}, allow_redirects=False, timeout=30)
    assert bare.status_code == 400 and "CON001004" in bare.text
    other = logged_in(site.url, "support")
    foreign = support.submit(path, {"note": "x"}, token=csrf_token(other.page("/runs").text))
    assert foreign.status_code == 400 and "CON001004" in foreign.text
    assert _status(site, site.mc_discrepancy) == "open"
    assert support.submit(path, {"note": "x"}, token_from="/runs").status_code == 302
    assert _status(site, site.mc_discrepancy) == "acknowledged"


def test_an_idle_session_expires_and_a_post_with_it_changes_nothing(site: Site) -> None:
    support = logged_in(site.url, "support")
    token = csrf_token(support.page("/runs").text)
    app = web(site.gateway).console
    signer = app.session_interface.get_signing_serializer(app)
    cookie = signer.loads(support.cookies["gateway_console"])
    minutes = site.gateway.config.console.session_minutes
    support.cookies.clear()
    support.cookies.set("gateway_console", signer.dumps({**cookie, "seen": time.time() - 60 * minutes - 5}),
                        path="/console")
    stale = support.cookies["gateway_console"]
    answer = support.page("/runs")
    assert answer.status_code == 302 and "expired=1" in answer.headers["location"]
    assert "CON001003" in support.page(answer.headers["location"].removeprefix("/console")).text
    support.cookies.clear()
    support.cookies.set("gateway_console", stale, path="/console")
    post = support.submit(f"/discrepancies/{site.mc_discrepancy}/resolve", {"note": "late"}, token=token)
    assert post.status_code == 401 and "CON001003" in post.text
    assert _status(site, site.mc_discrepancy) == "open"


def test_a_disabled_account_is_out_at_its_next_request(site: Site) -> None:
    provider = logged_in(site.url, "provider")
    assert provider.page("/messages").status_code == 200
    accounts.disable(site.gateway.engine, login=LOGINS["provider"], actor="pytest")
    assert provider.page("/messages").status_code == 302
    assert Browser(site.url).log_in(LOGINS["provider"]).status_code == 401


@pytest.mark.parametrize(("path", "what"), [
    ("/compliance?as_of=2026-13-45", "as_of"), ("/compliance?from=yesterday", "from"),
    ("/compliance?from=2026-05-01&to=2026-01-01", "after"), ("/compliance?region=4X", "region"),
    ("/compliance?role=king", "role"), ("/houses/{house}?as_of=tomorrow", "as_of"),
    ("/houses/{house}?as_of=2026-01-01T00:00:00", "offset"), ("/messages?from=2026/01/01", "from"),
    ("/messages?page=0", "page"), ("/discrepancies?org=not-a-guid", "GUID"), ("/houses/not-a-guid", "GUID"),
])
def test_a_malformed_filter_is_refused_with_its_code(site: Site, path: str, what: str) -> None:
    answer = logged_in(site.url, "support").page(path.format(house="b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"))
    assert answer.status_code == 400 and "CON001007" in answer.text and what in answer.text


def test_forged_or_incomplete_worklist_forms_change_nothing(site: Site) -> None:
    support = logged_in(site.url, "support")
    no_reason = support.submit(f"/discrepancies/{site.mc_discrepancy}/apply", {"reason": ""}, token_from="/runs")
    assert no_reason.status_code == 400 and "CON001007" in no_reason.text
    no_note = support.submit(f"/discrepancies/{site.mc_discrepancy}/resolve", {"note": "  "}, token_from="/runs")
    assert no_note.status_code == 400 and "CON001010" in no_note.text
    no_fix = support.submit(f"/discrepancies/{site.other_discrepancy}/apply", {"reason": "try"}, token_from="/runs")
    assert no_fix.status_code in (302, 409)
    unknown = support.submit("/discrepancies/00000000-0000-4000-8000-000000000000/acknowledge", {"note": ""},
                             token_from="/runs")
    assert unknown.status_code == 404 and "CON001006" in unknown.text
    assert _status(site, site.mc_discrepancy) == "open"


def test_a_resolution_is_audited_with_the_console_user_and_address(site: Site) -> None:
    support = logged_in(site.url, "support")
    done = support.submit(f"/discrepancies/{site.mc_discrepancy}/resolve", {"note": "the provider fixed it"},
                          token_from="/runs")
    assert done.status_code == 302
    with site.gateway.engine.connect() as connection:
        entry = connection.execute(select(audit_log).where(audit_log.c.action == "reconcile.resolved")).mappings().one()
    assert (entry["actor"], entry["actor_kind"], entry["origin"], entry["target"]) == \
        (LOGINS["support"], "console", "127.0.0.1", site.mc_discrepancy)
    assert "the provider fixed it" in support.page("/audit").text


def test_session_cookies_are_httponly_lax_and_secure_when_configured(gateway, org_entries) -> None:  # type: ignore[no-untyped-def]
    with serve_site(gateway, org_entries, secure_cookies=True) as site:
        answer = Browser(site.url).page("/login")
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie and "Path=/console" in cookie
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_login_redirects_only_inside_the_console(site: Site) -> None:
    browser = Browser(site.url)
    page = browser.page("/login")
    answer = browser.post(site.url + "/console/login?next=//evil.example/x", data={
        "csrf_token": csrf_token(page.text), "login": LOGINS["support"], "password": PASSWORD},
        allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and answer.headers["location"] == "/console/"


def test_the_csv_download_is_a_zip_of_the_three_tables(site: Site) -> None:
    answer = logged_in(site.url, "regulator").page("/compliance/download/csv")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(answer.content)).namelist())
    assert len(names) == 3 and all(n.startswith("compliance-") for n in names)


def test_without_a_secret_the_console_answers_503_and_soap_is_unaffected(gateway) -> None:  # type: ignore[no-untyped-def]
    gateway.config = replace(gateway.config, console=replace(gateway.config.console, secret=""))
    with EmbeddedServer(web(gateway)) as server:
        answer = requests.get(server.url + "/console/login", timeout=30)
        assert answer.status_code == 503 and "CON001009" in answer.text
        assert requests.get(server.url + "/health", timeout=30).status_code == 200


def test_gateway_serve_serves_the_console_beside_soap(gateway, pki, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.serving import gateway_serve

    with_console(gateway)
    accounts.add(gateway.engine, login="support-sam", org="5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", role="support",
                 password=PASSWORD, actor="pytest")
    monkeypatch.setenv("GATEWAY_CONSOLE__SECRET", gateway.config.console.secret)
    with gateway_serve(gateway, pki, tmp_path) as served:
        browser = Browser(served.url)
        assert browser.log_in("support-sam").status_code == 302
        assert browser.page("/runs").status_code == 200  # the session holds across gunicorn's two processes
        assert requests.get(served.url + "/ext-bus-home-management-service/services/HomeManagementAsync?wsdl",
                            timeout=30).status_code == 200


def test_lists_are_paged_and_the_next_page_link_keeps_the_filters(gateway, org_entries) -> None:  # type: ignore[no-untyped-def]
    import re

    with serve_site(gateway, org_entries, page_size=1) as site:
        support = logged_in(site.url, "support")
        first = support.page("/messages?state=done")
        link = re.search(r'href="([^"]+)" id="next-page"', first.text)
        assert link and "state=done" in link.group(1) and "page=2" in link.group(1)
        second = support.get(site.url + link.group(1).replace("&amp;", "&"), timeout=30, allow_redirects=False)
        assert second.status_code == 200
        guids = [re.findall(r'/console/messages/([0-9a-f-]{36})"', page.text) for page in (first, second)]
        assert len(guids[0]) == len(guids[1]) == 1 and guids[0] != guids[1]
