"""Organisations (obligations and their state, violations and decrees, houses, cadastral fill rate) and houses
(premises with their cadastral state, accounts, devices and latest readings, protocols; as of a moment)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _

from gateway.console import access, filters
from gateway.console.pages.common import cut, gateway, paging, principal
from gateway.registry.queries import Reader
from gateway.registry.queries import console as pages
from gateway.reports.evaluate import Filters
from gateway.reports.report import ComplianceReport, end_of_day
from gateway.reports.rules import MOSCOW

blueprint = Blueprint("registry", __name__)
#: accounts, devices and protocols shown on a house page (premises are paged)
HOUSE_LIMIT = 100


def _scope() -> tuple[str, ...] | None:
    who = principal()
    return who.regions if who.role == "regulator" else None


@blueprint.route("/organisations")
def organisations() -> Any:
    who = principal()
    paged = paging()
    with gateway().engine.connect() as connection:
        rows = pages.organisations_page(connection, regions=_scope(),
                                        org=who.org_guid if who.role == "provider" else None,
                                        limit=paged.fetch, offset=paged.offset)
    shown, more = cut(rows, paged)
    return render_template("organisations.html", rows=shown, more=more, paged=paged)


@blueprint.route("/organisations/<guid>")
def organisation(guid: str) -> Any:
    guid = filters.guid_value(guid, "organisation")
    who = principal()
    paged = paging()
    today = datetime.now(MOSCOW).date()
    with gateway().engine.connect() as connection:
        org = pages.organisation(connection, guid)
        if org is None or not access.may_see_org(connection, who, guid):
            raise access.not_found(_("No such organisation."))
        houses, more = cut(pages.org_houses(connection, guid, regions=_scope(), limit=paged.fetch,
                                            offset=paged.offset), paged)
        report = ComplianceReport(connection, as_of=end_of_day(today), filters=Filters(
            period_from=date(today.year - 1, today.month, 1), period_to=today, org=guid,
            regions=who.regions if who.role == "regulator" else ()))
        block = next((b for b in report.organisations() if b.org.guid == guid), None)
        summary = list(report.summary_rows(block)) if block else []
        violations = list(islice(report.violation_rows(block), 50)) if block else []
        decrees = pages.decrees_of(connection, guid)
    # the fill rate as the report counts it (the houses it manages on the day), read once with the obligations
    quality = block.quality if block else None
    n_houses, n_premises, numbered = (quality.houses, quality.premises, quality.with_number) if quality else (0, 0, 0)
    return render_template("organisation.html", org=org, houses=houses, more=more, paged=paged, n_houses=n_houses,
                           n_premises=n_premises, numbered=numbered, summary=summary, violations=violations,
                           violations_total=block.violations_total if block else 0, decrees=decrees,
                           obligations={o.id: o for o in report.rules.obligations})


@blueprint.route("/houses/<fias>")
def house(fias: str) -> Any:
    fias = filters.guid_value(fias, "house")
    at = filters.moment("as_of")
    paged = paging()
    with gateway().engine.connect() as connection:
        if not access.may_see_house(connection, principal(), fias):
            raise access.not_found(_("No such house."))
        reader = Reader(connection, at)
        found = next(reader.houses(fias=[fias]), None)
        if found is None:
            raise access.not_found(_("The house was not registered at that moment.") if at else _("No such house."))
        premises = list(islice(reader.premises(house_guids=[found.guid]), paged.offset, paged.offset + paged.fetch))
        premises, more = cut(premises, paged)
        accommodations = list(islice(reader.accommodations(house_guids=[found.guid]), HOUSE_LIMIT))
        accounts = {a.guid: a for a in reader.accounts(guids=[x.account_guid for x in accommodations])} \
            if accommodations else {}
        devices = list(islice(reader.devices(house_guids=[found.guid]), HOUSE_LIMIT))
        latest = reader.latest_reading_dates(devices=[d.root_guid for d in devices]) if devices else {}
        protocols = list(islice(reader.protocols(house_guids=[found.guid]), HOUSE_LIMIT))
    numbers = {p.guid: p.number for p in premises}
    return render_template("house.html", h=found, at=at, premises=premises, more=more, paged=paged,
                           accommodations=accommodations, accounts=accounts, devices=devices, latest=latest,
                           protocols=protocols, numbers=numbers,
                           yesterday=(datetime.now(MOSCOW).date() - timedelta(days=1)).isoformat())
