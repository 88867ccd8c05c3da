"""Compliance reports on planted postings: on time, late and missing, read back exactly — as of a moment before
later corrections, with per-contract reading windows, working-day deadlines across the New Year holidays and a
repeated violation from a posted decree. On SQLite and PostgreSQL.

The registry records every posting at the moment it is made (the database's clock on PostgreSQL), so the planted
events are dated relative to it: a contract signed on 30 December 2025 and posted today is late by the number of
days since its deadline — 14 January 2026, the third working day after the New Year holidays.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gateway.bootstrap import Gateway
from gateway.domain.authority import MandateKind
from gateway.domain.decrees import DecreeData, DecreeToImport, ProceduralDocument
from gateway.domain.metering import (
    DeviceData,
    DeviceKind,
    DeviceResource,
    DeviceToCreate,
    ImportDevices,
    ImportReadings,
    ReadingKind,
    ReadingToImport,
)
from gateway.domain.model import NsiRef, Organisation
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.reports.evaluate import Filters
from gateway.reports.report import ComplianceReport, OrgReport, end_of_day
from gateway.reports.rules import MOSCOW, end_of
from gateway.services import contracts as contract_services
from gateway.services import decrees as decree_services
from gateway.services import houses as house_services
from gateway.services import metering as metering_services
from gateway.soap import contracts_xml, houses_xml
from gateway.xmlparse import parse_untrusted
from tests.conftest import management_contract, message_uow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
REGULATOR = Guid("3c2b1a09-8f7e-4d6c-b5a4-938271605f4e")
SIGNED = date(2025, 12, 30)  # a Tuesday; 31 December 2025 and 1–11 January 2026 are days off
DUE_AFTER_HOLIDAYS = date(2026, 1, 14)  # the third working day after SIGNED (12, 13, 14 January)


def today() -> date:
    return datetime.now(MOSCOW).date()


def months(start: date, end: date) -> list[tuple[int, int]]:
    found, (y, m) = [], (start.year, start.month)
    while (y, m) <= (end.year, end.month):
        found.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return found


def step(engine: Engine, action: Callable[..., Any], org: Guid = MC) -> Any:
    with message_uow(engine, org) as uow:
        sender = uow.organisations.get(org)
        assert isinstance(sender, Organisation)
        result = action(uow, sender, uow.provenance.message, datetime.now(UTC))  # type: ignore[union-attr]
        uow.commit()
    items = result.results if hasattr(result, "results") else result
    failed = [getattr(i, "result", i) for i in items if not getattr(i, "result", i).ok]
    assert not failed, failed
    return result


def contract(fias: list[str], *, signed: date, number: str, window_end: tuple[int, bool] | None = None
             ) -> Callable[..., Any]:
    body = management_contract(fias, number=number, start=signed.isoformat())
    body.find(f".//{{{HM}}}SigningDate").text = signed.isoformat()
    body.find(f".//{{{HM}}}EffectiveDate").text = signed.isoformat()
    if window_end is not None:
        end = body.find(f".//{{{HM}}}PeriodMetering/{{{HM}}}EndDate")
        end.find(f"{{{HM}}}Date").text = str(window_end[0])
        end.find(f"{{{HM}}}IsNextMonth").text = "true" if window_end[1] else "false"
    commands = contracts_xml.decode_import_contracts(body)
    return lambda uow, s, m, now: contract_services.import_documents(uow, s, MandateKind.CONTRACT, commands,
                                                                     message=m, now=now)


def house(fias: str, *, numbered: bool = True) -> Callable[..., Any]:
    root = parse_untrusted((FIXTURES / "houses" / "sever-1.xml").read_bytes())
    root.find(f".//{{{HM}}}FIASHouseGuid").text = fias
    for transport in root.iter(f"{{{BASE}}}TransportGUID"):
        transport.text = str(uuid.uuid4())
    if not numbered:  # every premises says nothing of a cadastral number
        for tag in ("CadastralNumber", "NoCadastralNumber", "No_RSO_GKN_EGRP_Registered"):
            for element in list(root.iter(f"{{{HM}}}{tag}")):
                if element.getparent().tag != f"{{{HM}}}BasicCharacteristicts":
                    element.getparent().remove(element)
    command = houses_xml.decode_import_house_uo(root)
    return lambda uow, s, m, now: house_services.import_house_uo(uow, s, command, message=m, now=now)


def nsi(engine: Engine, registry: int, code: str | None = None) -> NsiRef:
    with message_uow(engine, MC) as uow:
        items = uow.nsi.directory(registry)
        found = items[code] if code else next(iter(items.values()))
    return NsiRef(found.code, Guid(found.guid), found.name)


def premises_of(engine: Engine, fias: str) -> dict[str, str]:
    from gateway.registry.queries import Reader

    with engine.connect() as connection:
        reader = Reader(connection)
        guids = [h.guid for h in reader.houses(fias=[fias])]
        return {p.number: p.guid for p in reader.premises(house_guids=guids)}


def residential(engine: Engine, fias: str) -> int:
    from gateway.registry.queries import Reader

    with engine.connect() as connection:
        reader = Reader(connection)
        guids = [h.guid for h in reader.houses(fias=[fias])]
        return sum(1 for p in reader.premises(house_guids=guids) if p.kind == "residential"
                   and not p.is_common_property)


def report(engine: Engine, at: datetime | None = None, **filters: Any) -> list[OrgReport]:
    with engine.connect() as connection:
        built = ComplianceReport(connection, as_of=at or end_of_day(today()),
                                 filters=Filters(period_from=date(2025, 12, 1), period_to=today(), **filters))
        return list(built.organisations())


def mc(reports: list[OrgReport]) -> OrgReport:
    return next(r for r in reports if r.org.guid == str(MC))


def by_obligation(block: OrgReport) -> dict[str, dict[str, int]]:
    return {k: {f: getattr(t, f) for f in ("due", "on_time", "late", "missing", "pending", "repeated")}
            for k, t in block.tallies.items()}


def tally(due: int = 0, on_time: int = 0, late: int = 0, missing: int = 0, pending: int = 0,
          repeated: int = 0) -> dict[str, int]:
    return {"due": due, "on_time": on_time, "late": late, "missing": missing, "pending": pending,
            "repeated": repeated}


def test_planted_postings_give_the_exact_report_and_a_past_moment_reads_back_unchanged(gateway: Gateway) -> None:
    engine = gateway.engine
    late_house, fresh_house = str(uuid.uuid4()), str(uuid.uuid4())
    step(engine, contract([late_house], signed=SIGNED, number="УК-поздно"))
    step(engine, contract([fresh_house], signed=today(), number="УК-сегодня", window_end=(3, True)))
    time.sleep(0.01)
    before_house = datetime.now(UTC)
    time.sleep(0.01)
    first = report(engine, before_house)
    first_json = [json.dumps(by_obligation(r), sort_keys=True) + repr(r.violations) for r in first]
    block = mc(first)
    days_late = (today() - DUE_AFTER_HOLIDAYS).days
    assert by_obligation(block)["house-list-contract"] == tally(due=2, on_time=1, late=1)
    contract_late = [v for v in block.violations if v.obligation == "house-list-contract"]
    assert [(v.status, v.due_on, v.days_late) for v in contract_late] == [("late", DUE_AFTER_HOLIDAYS, days_late)]
    # the late house is not posted at all yet: missing; the fresh one is not due yet
    assert by_obligation(block)["house-posted"] == tally(due=1, missing=1, pending=1)
    missing_house = [v for v in block.violations if v.obligation == "house-posted"]
    assert [(v.object_guid, v.status, v.due_on) for v in missing_house] == [(late_house, "missing", DUE_AFTER_HOLIDAYS)]

    # the house is posted now, without cadastral numbers; a device from January; two months' readings
    step(engine, house(late_house, numbered=False))
    flats = premises_of(engine, late_house)
    water = nsi(engine, 2)
    device = step(engine, lambda uow, s, m, now: metering_services.import_devices(uow, s, ImportDevices(
        FiasHouseGuid(late_house), (DeviceToCreate(Guid.new(), DeviceData(
            number="ХВ-план", kind=DeviceKind.RESIDENTIAL,
            resources=(DeviceResource(water, False, (Decimal(10),)),), commissioned_on=date(2026, 1, 1),
            premises=(Guid(flats["1"]),))),)), message=m, now=now))[0].device
    this_month = today().replace(day=1)
    two_back = (this_month - timedelta(days=32)).replace(day=1)
    two_back = (two_back - timedelta(days=1)).replace(day=1)
    posted_months = {(two_back.year, two_back.month), (this_month.year, this_month.month)}
    for y, m_ in sorted(posted_months):
        on = min(date(y, m_, 20), today())
        step(engine, lambda uow, s, m, now, on=on: metering_services.import_readings(uow, s, ImportReadings(
            FiasHouseGuid(late_house), (ReadingToImport(Guid.new(), device.root_guid, None, ReadingKind.CURRENT,
                                                        water.code, (Decimal(11),), on),)), message=m, now=now))
    second = report(engine)
    block = mc(second)
    assert by_obligation(block)["house-posted"]["late"] == 1
    posted = next(v for v in block.violations if v.obligation == "house-posted")
    assert (posted.status, posted.recorded_on, posted.days_late) == ("late", today(), days_late)
    cadastral = next(v for v in block.violations if v.obligation == "house-cadastral")
    assert cadastral.status == "missing" and cadastral.object_guid == late_house
    # the fresh contract's house is not in the registry yet: its own state is not evaluated until it is
    assert by_obligation(block)["house-cadastral"] == tally(due=1, missing=1)
    assert by_obligation(block)["accounts"] == tally(due=1, missing=1)
    accounts = next(v for v in block.violations if v.obligation == "accounts")
    assert accounts.due_on == date(2026, 2, 1)  # the 1st of the month after the first full month under management
    assert accounts.detail == f"{residential(engine, late_house)} residential premises without an open personal account"
    # readings: the contract's window ends on the 25th of the month metered (before the statutory cap)
    expected = tally()
    for y, m_ in months(date(2026, 1, 1), today()):
        ends = end_of(date(y, m_, 25))
        if (y, m_) in posted_months:
            expected["due"] += 1
            expected["on_time" if datetime.now(UTC) <= ends else "late"] += 1
        elif datetime.now(UTC) >= ends:
            expected["due"] += 1
            expected["missing"] += 1
        else:
            expected["pending"] += 1
    assert by_obligation(block)["readings"] == expected
    late_reading = [v for v in block.violations if v.obligation == "readings" and v.status == "late"]
    assert any(v.due_on == date(two_back.year, two_back.month, 25) for v in late_reading)

    # as of the first moment, the report is exactly what it was then
    again = report(engine, before_house)
    assert [json.dumps(by_obligation(r), sort_keys=True) + repr(r.violations) for r in again] == first_json


def _decree(offender: Guid, *, proceeding: date, codes: list[NsiRef], executed: bool | None = None,
            paid: date | None = None) -> DecreeData:
    ref = NsiRef("1", Guid(str(uuid.uuid4())), "тест")
    return DecreeData(
        offender=offender, official=None, control_roles=(), result_kind=ref,
        document=ProceduralDocument(ref, "Постановление", "П-1", proceeding, executed, (
            {"name": "п.pdf", "description": "", "guid": str(uuid.uuid4()), "hash": ""},)),
        punishment_kinds=(ref,), authority=ref, authority_name=None, accepted_by_position="инспектор",
        violation_objects=tuple(codes), proceeding_date=proceeding, fine=Decimal("1000") if paid else None,
        fine_paid_on=paid, disqualification=None, suspension=None, description=None, taken_action=None,
        executed=executed)


def test_a_violation_while_the_organisation_is_penalised_is_repeated(gateway: Gateway) -> None:
    engine = gateway.engine
    with gateway.unit_of_work(None) as uow:
        uow.organisations.set_jurisdiction(REGULATOR, ("45",), at=datetime.now(UTC))
        uow.commit()
    fias = str(uuid.uuid4())
    step(engine, contract([fias], signed=SIGNED, number="УК-повтор"))
    step(engine, house(fias))  # OKTMO 45… (Moscow): in the regulator's jurisdiction
    assert not any(v.repeated for v in mc(report(engine)).violations)
    offence = nsi(engine, 229, "1")
    decree = _decree(MC, proceeding=date(2025, 6, 1), codes=[offence])
    placed = step(engine, lambda uow, s, m, now: decree_services.import_decrees(
        uow, s, (DecreeToImport(Guid.new(), None, data=decree),), message=m, now=now), org=REGULATOR)
    block = mc(report(engine))
    contract_late = next(v for v in block.violations if v.obligation == "house-list-contract")
    assert contract_late.repeated
    assert block.tallies["house-list-contract"].repeated == 1
    # a decree on another subject of violation, or executed more than a year before, does not count
    guid = placed[0].guid
    step(engine, lambda uow, s, m, now: decree_services.import_decrees(uow, s, (DecreeToImport(
        Guid.new(), guid, data=_decree(MC, proceeding=date(2024, 6, 1), codes=[offence], executed=True,
                                       paid=date(2024, 7, 1)), change=_change(engine)),), message=m, now=now),
         org=REGULATOR)
    assert not next(v for v in mc(report(engine)).violations if v.obligation == "house-list-contract").repeated


def _change(engine: Engine) -> Any:
    from gateway.domain.decrees import Reason

    return Reason(NsiRef("1", Guid(str(uuid.uuid4())), "ошибка ввода"), None, "исправлено")


def test_every_format_carries_the_same_report_with_stable_columns(gateway: Gateway, tmp_path: Path) -> None:
    import csv

    from openpyxl import load_workbook

    from gateway.reports import render
    from gateway.reports.report import QUALITY_COLUMNS, SUMMARY_COLUMNS, VIOLATION_COLUMNS

    engine = gateway.engine
    fias = str(uuid.uuid4())
    step(engine, contract([fias], signed=SIGNED, number="УК-форматы"))
    step(engine, house(fias, numbered=False))
    written: dict[str, list[Path]] = {}
    for fmt in render.FORMATS:
        with engine.connect() as connection:
            built = ComplianceReport(connection, as_of=end_of_day(today()),
                                     filters=Filters(period_from=date(2025, 12, 1), period_to=today()))
            written[fmt] = render.write(built, fmt, tmp_path / f"report.{fmt}")
    expected = mc(report(engine))

    document = json.loads(written["json"][0].read_text(encoding="utf-8"))
    assert document["report"]["schema_version"] == "1"
    assert {o["id"]: o["verified"] for o in document["report"]["obligations"]}["house-list-contract"] is False
    assert [n["id"] for n in document["report"]["not_evaluated"]] == ["payment-documents", "annual-report", "appeals"]
    assert all(f["first"] is None for f in document["report"]["fines"])  # unverified amounts are never shown
    ours = next(o for o in document["organisations"] if o["organisation"]["guid"] == str(MC))
    assert {r["obligation"]: (r["due"], r["on_time"], r["late"], r["missing"]) for r in ours["obligations"]} == \
        {k: (t.due, t.on_time, t.late, t.missing) for k, t in expected.tallies.items()}
    assert ours["violations_total"] == expected.violations_total
    assert document["totals"]["in_breach"] >= 1 and document["regions"]

    violations, summary, quality = written["csv"]
    with violations.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == VIOLATION_COLUMNS
    assert sum(1 for r in rows if r["org_guid"] == str(MC)) == len(expected.violations)
    with summary.open(encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == SUMMARY_COLUMNS
    with quality.open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0].keys()) == QUALITY_COLUMNS
    house_row = next(r for r in table if r["level"] == "house" and r["key"] == fias)
    assert house_row["with_number"] == "0" and int(house_row["missing"]) > 0

    book = load_workbook(written["xlsx"][0], read_only=True)
    assert book.sheetnames == ["Report", "Summary", "Violations", "Quality"]
    sheet_rows = list(book["Violations"].iter_rows(values_only=True))
    assert sheet_rows[0] == VIOLATION_COLUMNS and len(sheet_rows) - 1 == len(rows)
    about = [r for r in book["Report"].iter_rows(values_only=True) if r and r[0]]
    assert {"as_of", "as_of_requested", "generated_at"} <= {r[0] for r in about}
    assert next(r for r in about if r[0] == "house-list-contract")[3] == "NOT VERIFIED"

    page = written["html"][0].read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "НЕ СВЕРЕНО" in page and f'data-org="{MC}"' in page
    assert "http://" not in page.split("<svg")[0]  # no external resources outside the inline charts' namespaces
