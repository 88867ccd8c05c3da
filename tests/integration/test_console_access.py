"""The console's authorisation matrix, through the gateway's real HTTP front on SQLite and PostgreSQL: every
role × every route × inside / outside its organisation or jurisdiction → the status it must answer.

Inside and outside: the provider is the management company «Северный квартал» (houses in OKTMO 45); the
regulator oversees OKTMO 45; the HOA «Липовая аллея» (OKTMO 46) is outside both, «Заречье» (OKTMO 45) is
inside the regulator's jurisdiction but another organisation than the provider's. State changes (POST) are
tried with the visitor's own valid CSRF token, so a refusal is the role's, not the token's — and a refused one
changes nothing. Support's changes run last (they alter what they act on).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from gateway.console.mount import web
from gateway.registry.tables import discrepancies, messages
from tests.integration.console_support import (
    HOA,
    LIPOVAYA,
    MC,
    MC2,
    SEVER_1,
    ZARECHYE,
    Site,
    csrf_token,
    logged_in,
    serve_site,
)

ROLES = ("regulator", "provider", "support")

#: (method, path, {role: status}); {name} fields are the site's planted objects
MATRIX: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/", {"support": 302, "regulator": 302, "provider": 302}),
    ("GET", "/compliance", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", "/compliance?region=45", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", "/compliance?region=46", {"support": 200, "regulator": 403, "provider": 200}),
    ("GET", f"/compliance?org={MC}", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", f"/compliance?org={HOA}", {"support": 200, "regulator": 403, "provider": 403}),
    ("GET", f"/compliance?org={MC2}", {"support": 200, "regulator": 200, "provider": 403}),
    ("GET", f"/compliance/download/json?org={MC}", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", f"/compliance/download/xlsx?org={HOA}", {"support": 200, "regulator": 403, "provider": 403}),
    ("GET", "/compliance/download/csv?region=46", {"support": 200, "regulator": 403, "provider": 200}),
    ("GET", "/compliance/download/pdf", {"support": 404, "regulator": 404, "provider": 404}),
    ("GET", "/organisations", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", f"/organisations/{MC}", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", f"/organisations/{MC2}", {"support": 200, "regulator": 200, "provider": 404}),
    ("GET", f"/organisations/{HOA}", {"support": 200, "regulator": 404, "provider": 404}),
    ("GET", f"/houses/{SEVER_1}", {"support": 200, "regulator": 200, "provider": 200}),
    ("GET", f"/houses/{SEVER_1}?as_of=2000-01-01", {"support": 404, "regulator": 404, "provider": 404}),
    ("GET", f"/houses/{ZARECHYE}", {"support": 200, "regulator": 200, "provider": 404}),
    ("GET", f"/houses/{LIPOVAYA}", {"support": 200, "regulator": 404, "provider": 404}),
    ("GET", "/discrepancies", {"support": 200, "regulator": 403, "provider": 200}),
    ("GET", f"/discrepancies?org={HOA}", {"support": 200, "regulator": 403, "provider": 403}),
    ("GET", "/discrepancies/{mc_discrepancy}", {"support": 200, "regulator": 403, "provider": 200}),
    ("GET", "/discrepancies/{other_discrepancy}", {"support": 200, "regulator": 403, "provider": 404}),
    ("GET", "/messages", {"support": 200, "regulator": 403, "provider": 200}),
    ("GET", f"/messages?org={HOA}", {"support": 200, "regulator": 403, "provider": 403}),
    ("GET", "/messages?guid={mc_message}", {"support": 302, "regulator": 403, "provider": 302}),
    ("GET", "/messages/{mc_message}", {"support": 200, "regulator": 403, "provider": 200}),
    ("GET", "/messages/{other_message}", {"support": 200, "regulator": 403, "provider": 404}),
    ("GET", "/runs", {"support": 200, "regulator": 403, "provider": 403}),
    ("GET", "/audit", {"support": 200, "regulator": 403, "provider": 403}),
    ("GET", "/no-such-page", {"support": 404, "regulator": 404, "provider": 404}),
    ("POST", "/discrepancies/{mc_discrepancy}/acknowledge", {"support": 302, "regulator": 403, "provider": 403}),
    ("POST", "/discrepancies/{other_discrepancy}/resolve", {"support": 302, "regulator": 403, "provider": 403}),
    ("POST", "/discrepancies/{mc_discrepancy}/apply", {"support": 302, "regulator": 403, "provider": 403}),
    ("POST", "/messages/{dead_message}/requeue", {"support": 302, "regulator": 403, "provider": 403}),
    ("POST", "/messages/{mc_message}/requeue", {"support": 409, "regulator": 403, "provider": 403}),
]

FORM = {"note": "checked with the provider", "reason": "EGRN extract of 2026-09-28"}


@pytest.fixture
def site(gateway, org_entries):  # type: ignore[no-untyped-def]
    with serve_site(gateway, org_entries) as served:
        yield served


def _states(site: Site) -> tuple[str, str, str]:
    with site.gateway.engine.connect() as connection:
        d = dict(connection.execute(select(discrepancies.c.id, discrepancies.c.status).where(
            discrepancies.c.id.in_([site.mc_discrepancy, site.other_discrepancy]))).all())
        dead = connection.execute(select(messages.c.state).where(messages.c.guid == site.dead_message)).scalar()
    return d[site.mc_discrepancy], d[site.other_discrepancy], str(dead)


def test_every_role_gets_exactly_its_pages_inside_and_outside_its_scope(site: Site) -> None:
    names = {"mc_discrepancy": site.mc_discrepancy, "other_discrepancy": site.other_discrepancy,
             "mc_message": site.mc_message, "other_message": site.other_message, "dead_message": site.dead_message}
    before = _states(site)
    wrong: list[str] = []
    for role in ROLES:
        browser = logged_in(site.url, role)
        token = csrf_token(browser.page("/organisations").text)
        for method, template, expected in MATRIX:
            path = template.format(**names) if "{" in template else template
            answer = browser.page(path) if method == "GET" else browser.submit(path, FORM, token=token)
            if answer.status_code != expected[role]:
                code = re.search(r'class="code">(\w+)<', answer.text)
                wrong.append(f"{role} {method} {path}: {answer.status_code}, expected {expected[role]}"
                             f" ({code.group(1) if code else answer.text[:120]!r})")
            elif answer.status_code in (403, 404):
                assert ("CON001005" if answer.status_code == 403 else "CON001006") in answer.text, (role, path)
        if role != "support":
            assert _states(site) == before, f"a refused {role} changed something"
    assert wrong == []
    assert _states(site) == ("resolved", "resolved", "received")


def test_the_matrix_covers_every_route_of_the_console(site: Site) -> None:
    """A route added without a row in the matrix fails here (login and logout are the sessions tests')."""
    paths = {re.sub(r"\?.*", "", t) for _, t, _ in MATRIX} | {"/login", "/logout"}
    missing = []
    for rule in web(site.gateway).console.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        pattern = re.sub(r"<[^>]+>", "[^/]+", rule.rule)
        if not any(re.fullmatch(pattern, p) for p in paths):
            missing.append(rule.rule)
    assert missing == []
