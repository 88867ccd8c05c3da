"""The compliance report: as-of date, period, region, role and organisation filters; the table a page of
organisations at a time; the SVG charts; downloads in every report format (gateway.reports.render)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext as _
from markupsafe import Markup

from gateway.console import access, filters
from gateway.console.pages.common import address, cut, gateway, paging, principal
from gateway.domain.model import OrgRole
from gateway.registry import audit
from gateway.reports import render
from gateway.reports.evaluate import Filters
from gateway.reports.report import ComplianceReport, end_of_day
from gateway.reports.rules import MOSCOW

blueprint = Blueprint("compliance", __name__)
PROVIDER_ROLES = frozenset(r.value for r in OrgRole if r not in (OrgRole.REGULATOR, OrgRole.OPERATOR))
MEDIA = {"json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "html": "text/html; charset=utf-8", "csv": "application/zip"}


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        return date(day.year - 1, 3, 1)


def _asked() -> tuple[date, Filters]:
    """The filters from the query string, narrowed to what the principal may see."""
    who = principal()
    today = datetime.now(MOSCOW).date()
    as_of = filters.day("as_of") or today
    period_from, period_to = filters.day("from") or _year_before(as_of), filters.day("to") or as_of
    if period_from > period_to:
        raise filters.refused(f"from {period_from} is after to {period_to}")
    regions = access.check_regions(who, filters.regions())
    org = access.check_org_filter(who, filters.guid("org"))
    if org is not None and who.role == "regulator":
        with gateway().engine.connect() as connection:
            if not access.may_see_org(connection, who, org):
                raise access.forbidden(_("Organisation %(org)s serves no house in your jurisdiction.", org=org))
    role = filters.choice("role", PROVIDER_ROLES)
    return as_of, Filters(period_from=period_from, period_to=period_to, regions=regions,
                          roles=frozenset({role}) if role else frozenset(), org=org)


@blueprint.route("/compliance")
def report() -> Any:
    as_of, wanted = _asked()
    paged = paging()
    with gateway().engine.connect() as connection:
        compliance = ComplianceReport(connection, as_of=end_of_day(as_of), filters=wanted)
        shown, n = [], 0
        for block in compliance.organisations():  # every one counts in the totals; a page of them is shown
            if paged.offset <= n < paged.offset + paged.fetch:
                shown.append((block, list(compliance.summary_rows(block))))
            n += 1
        labels = render.LABELS.get(_lang(), render.LABELS["ru"])
        charts = (Markup(render.fill_chart(compliance, labels["chart_fill"])),  # noqa: S704 - pygal's own SVG
                  Markup(render.months_chart(compliance, labels["chart_months"])))  # noqa: S704
    rows, more = cut(shown, paged)
    obligations = {o.id: o for o in compliance.rules.obligations}
    return render_template("compliance.html", report=compliance, rows=rows, more=more, paged=paged, charts=charts,
                           as_of=as_of, wanted=wanted, obligations=obligations, roles=sorted(PROVIDER_ROLES),
                           formats=render.FORMATS, query=request.query_string.decode("latin-1"))


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "ru")


@blueprint.route("/compliance/download/<fmt>")
def download(fmt: str) -> Any:
    if fmt not in render.FORMATS:
        raise access.not_found(f"no report format {fmt!r}")
    as_of, wanted = _asked()
    who = principal()
    with tempfile.TemporaryDirectory(prefix="console-report-") as folder:
        path = Path(folder) / f"compliance-{as_of.isoformat()}.{fmt}"
        with gateway().engine.connect() as connection:
            compliance = ComplianceReport(connection, as_of=end_of_day(as_of), filters=wanted)
            written = render.write_html(compliance, path, lang=_lang()) if fmt == "html" else \
                render.write(compliance, fmt, path)
        if fmt == "csv":
            data = io.BytesIO()
            with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in written:
                    archive.write(file, file.name)
            content, name = data.getvalue(), f"compliance-{as_of.isoformat()}.csv.zip"
        else:
            content, name = path.read_bytes(), path.name
    with gateway().engine.begin() as connection:
        audit.record(connection, action="console.report.download", target=name, actor=who.login,
                     actor_kind="console", origin=address(),
                     detail={"format": fmt, "as_of": as_of.isoformat(), "org": wanted.org,
                             "regions": list(wanted.regions), "roles": sorted(wanted.roles),
                             "from": wanted.period_from.isoformat(), "to": wanted.period_to.isoformat()})
    return send_file(io.BytesIO(content), mimetype=MEDIA[fmt], as_attachment=True, download_name=name)
