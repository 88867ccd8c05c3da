"""The non-posting compliance report: every organisation's obligations as of a moment (``evaluate``), with its
data-quality indicators, in a stable shape the renderers (``render``) write as JSON, CSV, XLSX or HTML.

``ComplianceReport.organisations()`` streams one organisation at a time, merging the evaluation with the
houses' indicators and the open reconciliation discrepancies (all ordered by organisation GUID); totals, the
violations by month and the regional indicators are complete once the stream is consumed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import Connection

from gateway.registry.queries import compliance as evidence
from gateway.registry.queries.compliance import HouseQuality
from gateway.registry.queries.rows import OrganisationRow
from gateway.reports import rules as rulebook
from gateway.reports.evaluate import Evaluation, Filters, OrgCompliance, Tally, Violation
from gateway.reports.rules import MOSCOW, Rules

#: roles that oversee rather than post: never in a report
OVERSIGHT = frozenset({"regulator", "operator"})
#: the report's shape; bump when a column or field changes meaning (consumers check it)
SCHEMA_VERSION = "1"

SUMMARY_COLUMNS = ("org_guid", "org_name", "inn", "ogrn", "role", "obligation", "obligation_verified", "due",
                   "on_time", "late", "missing", "pending", "repeated", "offence", "fine_first", "fine_repeated",
                   "fine_verified")
VIOLATION_COLUMNS = ("org_guid", "org_name", "inn", "role", "obligation", "obligation_verified", "status",
                     "object_type", "object_guid", "fias_house_guid", "due_on", "recorded_on", "days_late",
                     "repeated", "offence", "detail")
QUALITY_COLUMNS = ("level", "key", "org_guid", "name", "houses", "premises", "with_number", "explicitly_without",
                   "missing", "fill_rate", "residential", "residential_without_account", "devices",
                   "devices_overdue", "open_discrepancies")


def end_of_day(day: date) -> datetime:
    """The report's moment for "as of ``day``": the day's end, 24:00 Moscow time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=MOSCOW)


@dataclass
class Quality:
    """Indicators of a group of houses: an organisation's, a region's (OKTMO prefix) or one house."""

    houses: int = 0
    premises: int = 0
    with_number: int = 0
    explicitly_without: int = 0
    missing: int = 0
    residential: int = 0
    residential_without_account: int = 0
    devices: int = 0
    devices_overdue: int = 0

    def add(self, h: HouseQuality) -> None:
        self.houses += 1
        self.premises += h.premises
        self.with_number += h.with_number
        self.explicitly_without += h.explicitly_without
        self.missing += h.missing
        self.residential += h.residential
        self.residential_without_account += h.residential_without_account
        self.devices += h.devices
        self.devices_overdue += h.devices_overdue

    @property
    def fill_rate(self) -> float | None:
        """Share of premises with a cadastral number (None: no premises)."""
        return round(self.with_number / self.premises, 4) if self.premises else None

    @property
    def explicit_rate(self) -> float | None:
        return round(self.explicitly_without / self.premises, 4) if self.premises else None

    def as_dict(self) -> dict[str, Any]:
        return {"houses": self.houses, "premises": self.premises, "with_number": self.with_number,
                "explicitly_without": self.explicitly_without, "missing": self.missing, "fill_rate": self.fill_rate,
                "explicit_rate": self.explicit_rate, "residential": self.residential,
                "residential_without_account": self.residential_without_account, "devices": self.devices,
                "devices_overdue": self.devices_overdue}


@dataclass
class OrgReport:
    org: OrganisationRow
    tallies: dict[str, Tally]
    violations: list[Violation]
    violations_total: int
    quality: Quality
    houses: list[HouseQuality]
    discrepancies: dict[str, int]

    @property
    def in_breach(self) -> bool:
        return self.violations_total > 0


@dataclass
class Totals:
    organisations: int = 0
    in_breach: int = 0
    repeated: int = 0  # organisations with a repeated violation
    by_obligation: dict[str, Tally] = field(default_factory=dict)
    quality: Quality = field(default_factory=Quality)
    regions: dict[str, Quality] = field(default_factory=dict)  # first two OKTMO digits (the subject of the RF)
    discrepancies: Counter[str] = field(default_factory=Counter)


class ComplianceReport:
    """``ComplianceReport(connection, as_of=…, filters=…)``; ``organisations()`` streams, then ``totals``."""

    def __init__(self, connection: Connection, *, as_of: datetime, filters: Filters, rules: Rules | None = None,
                 now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        self.requested = as_of
        #: the moment read: the one asked for, or now if that lies ahead (a day not over yet is read as far as it
        #: has gone, and the report says so)
        self.moment = min(as_of, now)
        self.generated_at = now
        self.filters = filters
        self.rules = rules or rulebook.load()
        self.connection = connection
        self.evaluation = Evaluation(connection, self.moment, filters, rules=self.rules)
        self.day = self.moment.astimezone(MOSCOW).date()
        self.totals = Totals()

    @property
    def by_month(self) -> Counter[tuple[str, str]]:
        return self.evaluation.by_month

    def header(self) -> dict[str, Any]:
        f, r = self.filters, self.rules
        return {
            "schema_version": SCHEMA_VERSION,
            "title": "Non-posting compliance report",
            "as_of_requested": self.requested.isoformat(), "as_of": self.moment.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "filters": {"period_from": f.period_from.isoformat(), "period_to": f.period_to.isoformat(),
                        "regions": list(f.regions), "roles": sorted(f.roles), "org": f.org},
            "obligations": [{"id": o.id, "title": o.title, "title_ru": o.title_ru, "roles": sorted(o.roles),
                             "legal_basis": o.legal_basis, "source": o.source, "verified": o.verified,
                             "note": o.note, "offence": o.offence, "effective_from": o.effective_from.isoformat(),
                             "effective_to": o.effective_to.isoformat() if o.effective_to else None}
                            for o in r.obligations],
            "not_evaluated": [{"id": n.id, "title": n.title, "title_ru": n.title_ru, "roles": sorted(n.roles),
                               "legal_basis": n.legal_basis, "reason": n.reason} for n in r.not_evaluated],
            "fines": [{"offence": x.offence, "subject": x.subject, "effective_from": x.effective_from.isoformat(),
                       "first": x.first or None, "repeated": x.repeated or None, "source": x.source,
                       "verified": x.verified} for x in r.fines],
            "repeat_rule": {"legal_basis": r.repeat.legal_basis, "source": r.repeat.source,
                            "verified": r.repeat.verified, "years_after_execution": r.repeat.years_after_execution,
                            "offences": {k: sorted(v) for k, v in r.repeat.offences.items()},
                            "offences_verified": r.repeat.offences_verified,
                            "offences_source": r.repeat.offences_source},
        }

    def fine(self, offence: str | None) -> tuple[str, str, bool]:
        """(first, repeated, verified) for a legal entity on the report's day; empty amounts: not verified."""
        found = self.rules.fine(offence, self.day)
        return (found.first, found.repeated, found.verified) if found else ("", "", False)

    def _houses(self) -> Iterator[tuple[str | None, list[HouseQuality]]]:
        stream = evidence.house_quality(self.connection, self.evaluation.moment, self.day, self.filters.regions)
        for org, houses in groupby(stream, key=lambda h: h.org_guid):
            yield org, list(houses)

    def organisations(self) -> Iterator[OrgReport]:
        """Each organisation with anything to report, in GUID order; the totals fill as the stream goes."""
        f, t = self.filters, self.totals
        known = evidence.InOrder(evidence.organisations_by_guid(self.connection, self.evaluation.moment))
        compliance: Iterator[OrgCompliance] = self.evaluation.organisations()
        houses = self._houses()
        discrepancies = groupby(evidence.open_discrepancies(self.connection, self.moment), key=lambda x: x[0])
        next_c, next_h, next_d = next(compliance, None), next(houses, None), next(discrepancies, None)
        while next_c is not None or (next_h is not None and next_h[0] is not None) or next_d is not None:
            keys = [k for k in (next_c.org.guid if next_c else None,
                                next_h[0] if next_h else None, next_d[0] if next_d else None) if k is not None]
            org_guid = min(keys)
            block_c = block_h = None
            block_d: dict[str, int] = {}
            if next_c is not None and next_c.org.guid == org_guid:
                block_c, next_c = next_c, next(compliance, None)
            if next_h is not None and next_h[0] == org_guid:
                block_h, next_h = next_h[1], next(houses, None)
            if next_d is not None and next_d[0] == org_guid:
                block_d, next_d = {kind: n for _, kind, n in next_d[1]}, next(discrepancies, None)
            org = known.get(org_guid)
            if org is not None and (org.role in OVERSIGHT or f.roles and org.role not in f.roles
                                    or f.org is not None and org.guid != f.org):
                org = None
            if org is None:
                continue
            for h in block_h or ():
                self._region(h)
            if f.regions and block_c is None and block_h is None:
                continue
            quality = Quality()
            for h in block_h or ():
                quality.add(h)
            report = OrgReport(org, block_c.tallies if block_c else {}, block_c.violations if block_c else [],
                               block_c.violations_total if block_c else 0, quality, block_h or [], block_d)
            t.organisations += 1
            t.in_breach += report.in_breach
            t.repeated += any(x.repeated for x in report.tallies.values())
            for obligation, tally in report.tallies.items():
                t.by_obligation.setdefault(obligation, Tally()).add(tally)
            t.discrepancies.update(block_d)
            yield report
        while next_h is not None and not f.roles and f.org is None:
            for h in next_h[1]:  # houses no organisation manages on the day: in the regional indicators only
                self._region(h)
            next_h = next(houses, None)

    def _region(self, house: HouseQuality) -> None:
        region = (house.oktmo or "")[:2] or "—"
        self.totals.regions.setdefault(region, Quality()).add(house)
        self.totals.quality.add(house)

    # -- rows with stable columns, for the renderers ------------------------------------------------------
    def summary_rows(self, report: OrgReport) -> Iterator[dict[str, Any]]:
        obligations = {o.id: o for o in self.rules.obligations}
        for obligation_id, tally in sorted(report.tallies.items()):
            o = obligations[obligation_id]
            first, repeated, verified = self.fine(o.offence)
            yield {"org_guid": report.org.guid, "org_name": report.org.name, "inn": report.org.inn,
                   "ogrn": report.org.ogrn, "role": report.org.role, "obligation": o.id,
                   "obligation_verified": o.verified, "due": tally.due, "on_time": tally.on_time, "late": tally.late,
                   "missing": tally.missing, "pending": tally.pending, "repeated": tally.repeated,
                   "offence": o.offence, "fine_first": first or None, "fine_repeated": repeated or None,
                   "fine_verified": verified}

    def violation_rows(self, report: OrgReport) -> Iterator[dict[str, Any]]:
        obligations = {o.id: o for o in self.rules.obligations}
        for v in report.violations:
            o = obligations[v.obligation]
            yield {"org_guid": report.org.guid, "org_name": report.org.name, "inn": report.org.inn,
                   "role": report.org.role, "obligation": v.obligation, "obligation_verified": o.verified,
                   "status": v.status, "object_type": v.object_type, "object_guid": v.object_guid,
                   "fias_house_guid": v.fias_house_guid, "due_on": v.due_on.isoformat(),
                   "recorded_on": v.recorded_on.isoformat() if v.recorded_on else None, "days_late": v.days_late,
                   "repeated": v.repeated, "offence": o.offence, "detail": v.detail}

    @staticmethod
    def quality_rows(report: OrgReport) -> Iterator[dict[str, Any]]:
        q = report.quality.as_dict()
        yield {"level": "organisation", "key": report.org.guid, "org_guid": report.org.guid,
               "name": report.org.name, **{k: q[k] for k in QUALITY_COLUMNS if k in q},
               "open_discrepancies": sum(report.discrepancies.values())}
        for h in report.houses:
            one = Quality()
            one.add(h)
            hq = one.as_dict()
            yield {"level": "house", "key": h.fias_house_guid, "org_guid": report.org.guid, "name": h.oktmo,
                   **{k: hq[k] for k in QUALITY_COLUMNS if k in hq}, "open_discrepancies": None}

    def region_rows(self) -> Iterator[dict[str, Any]]:
        for region, quality in sorted(self.totals.regions.items()):
            q = quality.as_dict()
            yield {"level": "region", "key": region, "org_guid": None, "name": f"OKTMO {region}",
                   **{k: q[k] for k in QUALITY_COLUMNS if k in q}, "open_discrepancies": None}
