"""exportComplianceReport (dom-gateway's compliance service): the non-posting report for a regulator or the operator.

A regulator reads only within its jurisdiction (``jurisdictions``: OKTMO prefixes): asked for no region, it gets
all of its own; asked for one outside them, it gets a coded refusal and nothing else. The operator reads any
region. Anyone else is refused at the door (``Operation.roles``) and, should its role change in between, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gateway.domain.model import Organisation, OrgRole
from gateway.errors import Code
from gateway.registry.unit_of_work import UnitOfWork
from gateway.reports.evaluate import Filters
from gateway.reports.report import ComplianceReport, OrgReport, end_of_day

REPORT_ROLES = frozenset({OrgRole.REGULATOR, OrgRole.OPERATOR})
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class ReportQuery:
    as_of: date
    period_from: date | None = None
    period_to: date | None = None
    regions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    org: str | None = None
    only_in_breach: bool = False
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class ReportPage:
    report: ComplianceReport
    regions: tuple[str, ...]
    page: int
    page_size: int
    organisations: list[OrgReport]
    total: int  # organisations matching the query (all pages)
    in_breach: int
    last: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    code: Code
    description: str


def _regions(uow: UnitOfWork, sender: Organisation, asked: tuple[str, ...]) -> tuple[str, ...] | Refusal:
    if sender.role is OrgRole.OPERATOR:
        return asked
    own = uow.organisations.jurisdiction(sender.guid)
    if not own:
        return Refusal(Code.OUTSIDE_JURISDICTION, f"organisation {sender.guid} has no jurisdiction configured; the "
                                                  "operator sets its regions (organisations file: jurisdiction)")
    outside = [r for r in asked if not any(r.startswith(p) for p in own)]
    if outside:
        return Refusal(Code.OUTSIDE_JURISDICTION, f"OKTMO {', '.join(outside)} lies outside your jurisdiction "
                                                  f"(OKTMO {', '.join(own)})")
    return asked or own


def export_report(uow: UnitOfWork, sender: Organisation, query: ReportQuery, now: datetime) -> ReportPage | Refusal:
    if sender.role not in REPORT_ROLES:
        return Refusal(Code.AUTHORITY_DENIED, f"organisation {sender.guid} ({sender.role}) may not read compliance "
                                              "reports")
    regions = _regions(uow, sender, query.regions)
    if isinstance(regions, Refusal):
        return regions
    start = query.period_from or query.as_of.replace(year=query.as_of.year - 1, day=min(query.as_of.day, 28))
    end = query.period_to or query.as_of
    if start > end:
        return Refusal(Code.REPORT_REQUEST_INVALID, f"PeriodFrom {start} is after PeriodTo {end}")
    filters = Filters(period_from=start, period_to=end, regions=regions, roles=frozenset(query.roles),
                      org=query.org)
    report = ComplianceReport(uow.connection, as_of=end_of_day(query.as_of), filters=filters, now=now)
    first = (query.page - 1) * query.page_size
    page: list[OrgReport] = []
    total = 0
    for block in report.organisations():
        if query.only_in_breach and not block.in_breach:
            continue
        if first <= total < first + query.page_size:
            page.append(block)
        total += 1
    return ReportPage(report, regions, query.page, query.page_size, page, total, report.totals.in_breach,
                      first + query.page_size >= total)
