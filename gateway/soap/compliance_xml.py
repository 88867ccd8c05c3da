"""dom-gateway's compliance service XML (xsd/extensions/compliance): ``exportComplianceReportRequest`` in, a
``getStateResult`` with one page of the ``ComplianceReport`` out."""

from __future__ import annotations

from datetime import date
from typing import Any

from lxml import etree

from gateway import ns
from gateway.domain.values import InvalidValue, xs_date
from gateway.ns import q
from gateway.services.compliance import DEFAULT_PAGE_SIZE, ReportPage, ReportQuery
from gateway.soap.xmlmap import boolean, child, own_text

COMPLIANCE = ns.COMPLIANCE
VERSION = "1.0.0.0"


def _c(local: str) -> str:
    return q(COMPLIANCE, local)


def _text(element: etree._Element, local: str) -> str | None:
    return own_text(child(element, local, COMPLIANCE))


def decode_request(request: etree._Element) -> ReportQuery:
    """The query, as the schema let it through; dates outside the plausible window raise ``InvalidValue``."""
    def day(local: str) -> date | None:
        value = _text(request, local)
        return xs_date(value, local) if value is not None else None

    as_of = day("AsOfDate")
    if as_of is None:
        raise InvalidValue("AsOfDate is missing")
    return ReportQuery(
        as_of=as_of, period_from=day("PeriodFrom"), period_to=day("PeriodTo"),
        regions=tuple(e.text or "" for e in request.iterchildren(_c("OKTMO"))),
        roles=tuple(e.text or "" for e in request.iterchildren(_c("Role"))),
        org=_text(request, "orgRootEntityGUID"), only_in_breach=bool(boolean(_text(request, "OnlyInBreach"))),
        page=int(_text(request, "Page") or 1), page_size=int(_text(request, "PageSize") or DEFAULT_PAGE_SIZE))


def _sub(parent: etree._Element, local: str, value: Any) -> None:
    if value is None:
        return
    element = etree.SubElement(parent, _c(local))
    element.text = ("true" if value else "false") if isinstance(value, bool) else str(value)


def encode_page(root: etree._Element, page: ReportPage) -> None:
    report = page.report
    header = report.header()
    element = etree.SubElement(root, _c("ComplianceReport"))
    _sub(element, "AsOf", report.moment.isoformat())
    _sub(element, "GeneratedAt", report.generated_at.isoformat())
    _sub(element, "PeriodFrom", report.filters.period_from.isoformat())
    _sub(element, "PeriodTo", report.filters.period_to.isoformat())
    for region in page.regions:
        _sub(element, "OKTMO", region)
    _sub(element, "Page", page.page)
    _sub(element, "PageSize", page.page_size)
    _sub(element, "TotalOrganisations", page.total)
    _sub(element, "InBreach", page.in_breach)
    _sub(element, "IsLastPage", page.last)
    for o in header["obligations"]:
        rule = etree.SubElement(element, _c("Rule"))
        for local, value in (("Id", o["id"]), ("Title", o["title_ru"]), ("LegalBasis", o["legal_basis"]),
                             ("Verified", o["verified"]), ("Source", o["source"]), ("Evaluated", True)):
            _sub(rule, local, value)
    for n in header["not_evaluated"]:
        rule = etree.SubElement(element, _c("Rule"))
        for local, value in (("Id", n["id"]), ("Title", n["title_ru"]), ("LegalBasis", n["legal_basis"] or "—"),
                             ("Verified", False), ("Source", "—"), ("Evaluated", False), ("Reason", n["reason"])):
            _sub(rule, local, value)
    for block in page.organisations:
        org = etree.SubElement(element, _c("Organisation"))
        for local, value in (("orgRootEntityGUID", block.org.guid), ("Name", block.org.name),
                             ("INN", block.org.inn), ("OGRN", block.org.ogrn), ("Role", block.org.role)):
            _sub(org, local, value)
        for row in report.summary_rows(block):
            tally = etree.SubElement(org, _c("Obligation"))
            for local, key in (("ObligationId", "obligation"), ("Due", "due"), ("OnTime", "on_time"),
                               ("Late", "late"), ("Missing", "missing"), ("Pending", "pending"),
                               ("Repeated", "repeated")):
                _sub(tally, local, row[key])
        _sub(org, "ViolationsTotal", block.violations_total)
        for v in block.violations:
            violation = etree.SubElement(org, _c("Violation"))
            for local, value in (("ObligationId", v.obligation), ("Status", v.status),
                                 ("ObjectType", v.object_type), ("ObjectGUID", v.object_guid),
                                 ("FIASHouseGuid", v.fias_house_guid), ("DueDate", v.due_on.isoformat()),
                                 ("RecordedDate", v.recorded_on.isoformat() if v.recorded_on else None),
                                 ("DaysLate", v.days_late), ("Repeated", v.repeated), ("Description", v.detail)):
                _sub(violation, local, value)
        quality, qd = etree.SubElement(org, _c("Quality")), block.quality.as_dict()
        for local, key in (("Houses", "houses"), ("Premises", "premises"), ("WithCadastralNumber", "with_number"),
                           ("ExplicitlyWithoutNumber", "explicitly_without"), ("CadastralNumberMissing", "missing"),
                           ("FillRate", "fill_rate"), ("ResidentialWithoutAccount", "residential_without_account"),
                           ("Devices", "devices"), ("DevicesPastVerification", "devices_overdue")):
            _sub(quality, local, qd[key])
        for kind, count in sorted(block.discrepancies.items()):
            open_ = etree.SubElement(org, _c("OpenDiscrepancies"))
            _sub(open_, "Kind", kind)
            _sub(open_, "Count", count)
