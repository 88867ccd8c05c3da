"""``gateway report compliance …``: the non-posting compliance report for regulators (gateway.reports)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from gateway.domain.model import OrgRole
from gateway.reports import render
from gateway.reports.evaluate import Filters
from gateway.reports.report import ComplianceReport, end_of_day

PROVIDER_ROLES = sorted(r.value for r in OrgRole if r not in (OrgRole.REGULATOR, OrgRole.OPERATOR))


@click.group("report")
def report_group() -> None:
    """Reports for regulators."""


def _default_period(as_of: date) -> tuple[date, date]:
    """Twelve months up to the as-of date."""
    start = as_of.replace(year=as_of.year - 1) + timedelta(days=1) if not (as_of.month == 2 and as_of.day == 29) \
        else date(as_of.year - 1, 3, 1)
    return start, as_of


@report_group.command("compliance")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Read the registry as it was at the end of this day (24:00 Moscow time); default: today.")
@click.option("--from", "period_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Obligations arising from this day; default: twelve months before --as-of.")
@click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="… up to this day; default: --as-of.")
@click.option("--region", "regions", multiple=True, metavar="OKTMO",
              help="Only houses whose OKTMO code starts so (e.g. 45 for Moscow); repeat for several.")
@click.option("--role", "roles", multiple=True, type=click.Choice(PROVIDER_ROLES), help="Only these roles (repeat).")
@click.option("--org", metavar="GUID", help="One organisation only.")
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="html", show_default=True)
@click.option("--lang", type=click.Choice(sorted(render.LABELS)), default="ru", show_default=True,
              help="Language of the HTML report.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write (CSV: the violations; the summary and quality tables beside it).")
@click.pass_obj
def compliance_command(obj: Any, as_of: datetime | None, period_from: datetime | None, period_to: datetime | None,
                       regions: tuple[str, ...], roles: tuple[str, ...], org: str | None, fmt: str, lang: str,
                       output: Path) -> None:
    """Who failed to post what by the deadline, as of a day: per organisation and obligation, due, on time,
    late, missing, first or repeated, with the data-quality indicators."""
    from gateway.registry import audit

    day = as_of.date() if as_of else datetime.now().date()
    start, end = _default_period(day)
    filters = Filters(period_from=period_from.date() if period_from else start,
                      period_to=period_to.date() if period_to else end,
                      regions=tuple(regions), roles=frozenset(roles), org=org)
    if filters.period_from > filters.period_to:
        raise click.UsageError(f"--from {filters.period_from} is after --to {filters.period_to}")
    for region in regions:
        if not region.isdigit() or len(region) > 11:
            raise click.UsageError(f"--region {region!r}: an OKTMO prefix is 1 to 11 digits")
    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        report = ComplianceReport(connection, as_of=end_of_day(day), filters=filters)
        written = render.write_html(report, output, lang=lang) if fmt == "html" else render.write(report, fmt, output)
    with gateway.engine.begin() as connection:
        audit.record(connection, action="report.compliance", target=str(output),
                     detail={"as_of": report.moment.isoformat(), "format": fmt,
                             "filters": {"from": filters.period_from.isoformat(), "to": filters.period_to.isoformat(),
                                         "regions": list(regions), "roles": sorted(roles), "org": org}})
    t = report.totals
    click.echo(f"compliance as of {report.moment.isoformat()}: {t.organisations} organisations, {t.in_breach} in "
               f"breach, {t.repeated} with a repeated violation")
    for path in written:
        click.echo(f"wrote {path}")
