"""Writing a compliance report: JSON, CSV, XLSX (openpyxl) or printable HTML (jinja2, charts as inline SVG by
pygal). Every writer streams the organisations as the report yields them — memory holds one organisation at a
time — and adds the totals, which are complete only at the end, after them (HTML: organisations go to a
temporary file first, so the summary and charts can head the page).
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import IO, Any

import pygal
from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook

from gateway.reports.report import (
    QUALITY_COLUMNS,
    SUMMARY_COLUMNS,
    VIOLATION_COLUMNS,
    ComplianceReport,
    OrgReport,
)

FORMATS = ("json", "csv", "xlsx", "html")
#: violations of one organisation shown on the printable page (every one is in JSON, CSV and XLSX)
HTML_VIOLATIONS = 25


def write(report: ComplianceReport, fmt: str, path: Path) -> list[Path]:
    """Write ``report`` as ``fmt`` to ``path``; returns the files written (CSV: three, beside each other)."""
    writers: dict[str, Callable[[ComplianceReport, Path], list[Path]]] = {
        "json": write_json, "csv": write_csv, "xlsx": write_xlsx, "html": write_html}
    if fmt not in writers:
        raise ValueError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return writers[fmt](report, path)


def _org(report: OrgReport) -> dict[str, Any]:
    o = report.org
    return {"guid": o.guid, "name": o.name, "role": o.role, "inn": o.inn, "ogrn": o.ogrn}


def _totals(report: ComplianceReport) -> dict[str, Any]:
    t = report.totals
    return {
        "organisations": t.organisations, "in_breach": t.in_breach, "with_repeated": t.repeated,
        "by_obligation": {k: v.__dict__ for k, v in sorted(t.by_obligation.items())},
        "quality": t.quality.as_dict(), "open_discrepancies": dict(sorted(t.discrepancies.items())),
        "violations_by_month": [{"obligation": o, "month": m, "violations": n}
                                for (o, m), n in sorted(report.by_month.items())],
    }


# -- JSON ------------------------------------------------------------------------------------------------------

def write_json(report: ComplianceReport, path: Path) -> list[Path]:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"report": ' + json.dumps(report.header(), ensure_ascii=False) + ',\n"organisations": [')
        for n, block in enumerate(report.organisations()):
            item = {"organisation": _org(block), "obligations": list(report.summary_rows(block)),
                    "violations_total": block.violations_total, "violations": list(report.violation_rows(block)),
                    "quality": block.quality.as_dict(), "discrepancies": block.discrepancies,
                    "houses": [row for row in report.quality_rows(block) if row["level"] == "house"]}
            out.write(("\n" if n == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
        out.write('\n],\n"totals": ' + json.dumps(_totals(report), ensure_ascii=False))
        out.write(',\n"regions": ' + json.dumps(list(report.region_rows()), ensure_ascii=False) + "}\n")
    return [path]


# -- CSV -------------------------------------------------------------------------------------------------------

def _csv(path: Path, columns: tuple[str, ...]) -> tuple[IO[str], Any]:
    handle = path.open("w", encoding="utf-8", newline="")
    writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    return handle, writer


def csv_paths(path: Path) -> tuple[Path, Path, Path]:
    """The violations at ``path``; the summary and quality tables beside it (``<stem>.summary.csv`` …)."""
    return path, path.with_name(f"{path.stem}.summary.csv"), path.with_name(f"{path.stem}.quality.csv")


def write_csv(report: ComplianceReport, path: Path) -> list[Path]:
    paths = csv_paths(path)
    files = [_csv(p, c) for p, c in zip(paths, (VIOLATION_COLUMNS, SUMMARY_COLUMNS, QUALITY_COLUMNS), strict=True)]
    try:
        (_, violations), (_, summary), (_, quality) = files
        for block in report.organisations():
            violations.writerows(report.violation_rows(block))
            summary.writerows(report.summary_rows(block))
            quality.writerows(report.quality_rows(block))
        quality.writerows(report.region_rows())
    finally:
        for handle, _ in files:
            handle.close()
    return list(paths)


# -- XLSX ------------------------------------------------------------------------------------------------------

def write_xlsx(report: ComplianceReport, path: Path) -> list[Path]:
    """Sheets Report (what, as of when, on which rules), Summary, Violations and Quality; written in openpyxl's
    write-only mode, row by row."""
    book = Workbook(write_only=True)
    about, summary, violations, quality = (book.create_sheet(n) for n in ("Report", "Summary", "Violations",
                                                                              "Quality"))
    summary.append(list(SUMMARY_COLUMNS))
    violations.append(list(VIOLATION_COLUMNS))
    quality.append(list(QUALITY_COLUMNS))

    def cells(row: dict[str, Any], columns: tuple[str, ...]) -> list[Any]:
        return [row.get(c) for c in columns]

    for block in report.organisations():
        for row in report.summary_rows(block):
            summary.append(cells(row, SUMMARY_COLUMNS))
        for row in report.violation_rows(block):
            violations.append(cells(row, VIOLATION_COLUMNS))
        for row in report.quality_rows(block):
            quality.append(cells(row, QUALITY_COLUMNS))
    for row in report.region_rows():
        quality.append(cells(row, QUALITY_COLUMNS))
    header = report.header()
    for key in ("title", "schema_version", "as_of_requested", "as_of", "generated_at"):
        about.append([key, header[key]])
    for key, value in header["filters"].items():
        about.append([f"filter {key}", json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value])
    totals = _totals(report)
    about.append(["organisations", totals["organisations"]])
    about.append(["organisations in breach", totals["in_breach"]])
    about.append(["organisations with a repeated violation", totals["with_repeated"]])
    about.append([])
    about.append(["obligation", "title", "legal basis", "verified", "source", "note"])
    for o in header["obligations"]:
        about.append([o["id"], o["title_ru"], o["legal_basis"], "yes" if o["verified"] else "NOT VERIFIED",
                      o["source"], o["note"]])
    about.append([])
    about.append(["not evaluated", "title", "legal basis", "reason"])
    for n in header["not_evaluated"]:
        about.append([n["id"], n["title_ru"], n["legal_basis"], n["reason"]])
    about.append([])
    about.append(["fine", "subject", "from", "first", "repeated", "verified", "source"])
    for f in header["fines"]:
        about.append([f["offence"], f["subject"], f["effective_from"], f["first"] or "not verified",
                      f["repeated"] or "not verified", "yes" if f["verified"] else "NOT VERIFIED", f["source"]])
    book.save(path)
    return [path]


# -- HTML ------------------------------------------------------------------------------------------------------

LABELS = {
    "ru": {"title": "Отчёт о неразмещении информации", "as_of": "По состоянию на", "generated": "Сформирован",
           "period": "Период", "region": "Регион (ОКТМО)", "all": "все", "organisations": "Организаций",
           "in_breach": "С нарушениями", "repeated": "С повторными нарушениями", "obligation": "Обязанность",
           "due": "Наступило", "on_time": "В срок", "late": "С опозданием", "missing": "Не размещено",
           "pending": "Срок не наступил", "repeated_short": "Повторно", "verified": "Норма сверена с текстом акта",
           "unverified": "НЕ СВЕРЕНО с текстом акта", "basis": "Основание", "not_evaluated": "Не оценивается",
           "reason": "Причина", "fines": "Штрафы", "fine_unverified": "размер не сверен — не указывается",
           "violations": "Нарушения", "object": "Объект", "due_on": "Срок", "recorded_on": "Размещено",
           "days_late": "Дней опоздания", "status": "Статус", "quality": "Качество данных",
           "fill_rate": "Доля помещений с кадастровым номером", "explicit": "Явно без номера",
           "without_account": "Жилых помещений без лицевого счёта", "devices_overdue": "ПУ с истёкшей поверкой",
           "discrepancies": "Открытые расхождения сверки", "chart_fill": "Заполненность кадастровых номеров по "
           "регионам", "chart_months": "Нарушения по обязанностям и месяцам", "compliant": "Организации без "
           "нарушений", "more": "ещё нарушений — в выгрузке CSV/XLSX/JSON", "inn": "ИНН", "role": "Роль",
           "moment_note": "Запрошенный момент ещё не наступил: отчёт отражает состояние на момент формирования."},
    "en": {"title": "Non-posting compliance report", "as_of": "As of", "generated": "Generated",
           "period": "Period", "region": "Region (OKTMO)", "all": "all", "organisations": "Organisations",
           "in_breach": "In breach", "repeated": "With a repeated violation", "obligation": "Obligation",
           "due": "Due", "on_time": "On time", "late": "Late", "missing": "Missing", "pending": "Not due yet",
           "repeated_short": "Repeated", "verified": "Rule verified against the act",
           "unverified": "NOT VERIFIED against the act", "basis": "Legal basis", "not_evaluated": "Not evaluated",
           "reason": "Reason", "fines": "Fines", "fine_unverified": "amount not verified — not shown",
           "violations": "Violations", "object": "Object", "due_on": "Due on", "recorded_on": "Posted on",
           "days_late": "Days late", "status": "Status", "quality": "Data quality",
           "fill_rate": "Premises with a cadastral number", "explicit": "Explicitly without a number",
           "without_account": "Residential premises without an account", "devices_overdue": "Devices past "
           "verification", "discrepancies": "Open reconciliation discrepancies", "chart_fill": "Cadastral "
           "numbers by region", "chart_months": "Violations by obligation and month", "compliant": "Organisations "
           "without violations", "more": "more violations — in the CSV/XLSX/JSON export", "inn": "INN",
           "role": "Role", "moment_note": "The moment asked for has not come yet: the report shows the registry as "
           "of its generation."},
}


def _environment() -> Environment:
    return Environment(loader=PackageLoader("gateway.reports", "templates"), autoescape=select_autoescape(),
                       trim_blocks=True, lstrip_blocks=True)


def _chart(kind: str, title: str, **config: Any) -> Any:
    chart = getattr(pygal, kind)(js=[], disable_xml_declaration=True, title=title, width=900, height=360,
                                 explicit_size=False, print_values=False, legend_at_bottom=True, **config)
    return chart


def fill_chart(report: ComplianceReport, title: str) -> str:
    chart = _chart("HorizontalBar", title, range=(0, 100), show_legend=False)
    regions = sorted(report.totals.regions.items())
    chart.x_labels = [f"ОКТМО {r}" for r, _ in regions]
    chart.add("%", [round(100 * (q.fill_rate or 0), 1) for _, q in regions])
    return str(chart.render())


def months_chart(report: ComplianceReport, title: str) -> str:
    chart = _chart("StackedBar", title)
    months = sorted({m for _, m in report.by_month})
    chart.x_labels = months
    for obligation in sorted({o for o, _ in report.by_month}):
        chart.add(obligation, [report.by_month.get((obligation, m), 0) for m in months])
    return str(chart.render())


def _day(value: Any) -> str:
    return value.strftime("%d.%m.%Y") if isinstance(value, date) else ("" if value is None else str(value))


def write_html(report: ComplianceReport, path: Path, *, lang: str = "ru") -> list[Path]:
    """The printable page: summary, charts and rules first, then a table per organisation in breach, then one
    row per organisation without violations."""
    env = _environment()
    env.filters["day"] = _day
    labels = LABELS[lang]
    obligations = {o.id: o for o in report.rules.obligations}
    organisation, compliant_row = env.get_template("organisation.html.j2"), env.get_template("compliant.html.j2")
    with tempfile.TemporaryFile("w+", encoding="utf-8") as breaches, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as compliant:
        for block in report.organisations():
            if block.in_breach:
                breaches.write(organisation.render(
                    block=block, labels=labels, obligations=obligations, lang=lang,
                    summary=list(report.summary_rows(block)), limit=HTML_VIOLATIONS,
                    violations=list(report.violation_rows(block))[:HTML_VIOLATIONS]))
            else:
                compliant.write(compliant_row.render(org=_org(block), block=block, labels=labels))
        page = env.get_template("compliance.html.j2").render(
            report=report, header=report.header(), totals=_totals(report), labels=labels, lang=lang,
            obligations=obligations, fill_chart=fill_chart(report, labels["chart_fill"]),
            months_chart=months_chart(report, labels["chart_months"]),
            regions=list(report.region_rows()), future=report.moment < report.requested)
        head, _, rest = page.partition("<!--ORGANISATIONS-->")
        middle, _, tail = rest.partition("<!--COMPLIANT-->")
        with path.open("w", encoding="utf-8") as out:
            out.write(head)
            breaches.seek(0)
            shutil.copyfileobj(breaches, out)
            out.write(middle)
            compliant.seek(0)
            shutil.copyfileobj(compliant, out)
            out.write(tail)
    return [path]
