"""The reconciliation jobs: what each compares, and what it makes of the differences.

A job opens its source (if it has one), stages it, and turns the query layer's comparison rows
(``gateway.registry.queries.reconciliation``) into findings: a kind, a severity, the evidence (the register's
values and where they were read: file and line), a suggested fix and a score where the register says what the
right value is. The comparisons and the staging are set-based; a job only reads rows one by one as they stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, or_

from gateway.config import DatabaseConfig, ReconciliationConfig
from gateway.domain.discrepancies import Finding, Kind, Severity, candidate_score
from gateway.registry import reconciliation as store
from gateway.registry.queries import reconciliation as compare
from gateway.registry.tables import (
    account_accommodations,
    accounts,
    discrepancies,
    documents,
    houses,
    mandates,
    meter_readings,
    metering_devices,
    organisations,
    premises,
    staging_egrn,
    staging_gar_apartments,
    staging_gar_hierarchy,
    staging_gar_houses,
    staging_gar_params,
    staging_licences,
)
from gateway.sync import parallel, staging
from gateway.sync.sources import EgrnExtracts, GarRegion, LicenceRegister, Source, gar_regions

#: wraps a stream of rows to show progress (a no-op when not on a terminal)
Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def _quiet(rows: Iterable[Any], _what: str) -> Iterable[Any]:
    return rows


@dataclass
class Context:
    """What a job's run needs: the transaction, the run, the settings, today, and the progress display."""

    connection: Connection
    run_id: str
    settings: ReconciliationConfig
    today: date
    progress: Progress = _quiet
    #: where the registry is, for work done in other processes (parallel staging)
    database: DatabaseConfig | None = None


class Job:
    name: str
    #: which source the job reads ("" for none), and what it says of itself in `gateway reconcile list`
    source_kind: str = ""
    description: str = ""
    #: the staging tables it fills, and the registry tables its comparisons read: both need the planner's
    #: statistics current before the comparisons run (``registry.reconciliation.analyze``)
    staging: tuple[Table, ...] = ()
    reads: tuple[Table, ...] = ()

    def open(self, location: Path) -> list[Source]:
        raise NotImplementedError(f"job {self.name} reads no source")

    def stage(self, context: Context, sources: list[Source]) -> int:
        return 0

    def findings(self, context: Context) -> Iterator[Finding]:
        raise NotImplementedError

    def scope(self, run_id: str) -> Any | None:
        """What the run could see (a condition on discrepancies): only there may it resolve what it no longer
        finds. None: everything this job ever found."""
        return None


def _area_ratio(registry: Decimal | None, register: Decimal | None) -> float | None:
    if registry is None or register is None or register == 0:
        return None
    return abs(float(registry - register)) / float(register)


def _at(row: compare.PremisesAgainstRegister) -> dict[str, Any]:
    return {"file": row.file, "line": row.line} if row.file else {}


def _premises_finding(kind: Kind, severity: Severity, row: compare.PremisesAgainstRegister, summary: str,
                      evidence: dict[str, Any], **extra: Any) -> Finding:
    return Finding(kind, severity, "premises", row.premises_guid, summary,
                   {"premises_number": row.premises_number, "registry_cadastral": row.cadastral_status
                    if row.cadastral_number is None else row.cadastral_number, **evidence},
                   fias_house_guid=row.fias_house_guid, house_guid=row.house_guid, org_guid=row.org_guid, **extra)


def _set_number(row: compare.PremisesAgainstRegister, number: str, source: str) -> dict[str, Any]:
    """The fix a support engineer can apply: the premises takes the register's CadastralNumber (GKN link
    created, GKNRelationshipStatus C), recorded as an operator's change."""
    return {"action": "set_cadastral_number", "premises_guid": row.premises_guid, "cadastral_number": number,
            "from": row.cadastral_status, "source": source}


class CadastralJob(Job):
    name = "cadastral"
    source_kind = "egrn"
    description = "premises and their cadastral numbers against EGRN extracts"
    staging, reads = (staging_egrn,), (houses, premises)

    def open(self, location: Path) -> list[Source]:
        return [EgrnExtracts(location)]

    def stage(self, context: Context, sources: list[Source]) -> int:
        (source,) = sources
        assert isinstance(source, EgrnExtracts)
        if context.database is not None and context.connection.dialect.name == "postgresql" \
                and len(source.files) > 1 and parallel.workers() > 1:
            staged, issues, counted = parallel.stage_egrn_files(context.database, context.run_id, source.files)
            for issue in issues:
                source.issues.add(issue)
            source.issues.count += counted - len(issues)  # counted beyond those kept
            return staged
        rows = context.progress(staging.egrn_rows(context.run_id, source), "EGRN records")
        return store.stage(context.connection, staging_egrn, rows)

    def findings(self, context: Context) -> Iterator[Finding]:
        c, run, tolerance = context.connection, context.run_id, context.settings.area_tolerance
        for row in compare.egrn_candidates(c, run):
            assert row.register_number is not None
            ratio = _area_ratio(row.total_area, row.register_area)
            purpose = None if row.register_residential is None else \
                row.register_residential == (row.premises_kind == "residential")
            score = candidate_score(number_matches=True, area_ratio=ratio, purpose_matches=purpose)
            yield _premises_finding(
                Kind.CADASTRAL_CANDIDATE, Severity.WARNING, row,
                f"premises {row.premises_number} has no CadastralNumber; EGRN holds {row.register_number} for it",
                {"register_cadastral": row.register_number, "register_area": _text(row.register_area),
                 "registry_area": _text(row.total_area), "register_purpose": row.register_purpose, **_at(row)},
                subject=row.register_number, suggested_fix=_set_number(row, row.register_number, "egrn"),
                score=score)
        for row in compare.egrn_records_of_numbered(c, run, area_tolerance=tolerance):
            ratio = _area_ratio(row.total_area, row.register_area)
            if ratio is not None and ratio > tolerance:
                yield _premises_finding(
                    Kind.AREA_MISMATCH, Severity.WARNING, row,
                    f"premises {row.premises_number}: area {_text(row.total_area)} m², EGRN "
                    f"{_text(row.register_area)} m² ({ratio:.1%} off, tolerance {tolerance:.0%})",
                    {"register_area": _text(row.register_area), "registry_area": _text(row.total_area),
                     "off": round(ratio, 4), **_at(row)})
            residential = row.premises_kind == "residential"
            if row.register_residential is not None and row.register_residential != residential:
                yield _premises_finding(
                    Kind.PURPOSE_MISMATCH, Severity.WARNING, row,
                    f"premises {row.premises_number} is {'residential' if residential else 'non-residential'} in "
                    f"the registry, {row.register_purpose or ('Жилое' if row.register_residential else 'Нежилое')} "
                    "in EGRN", {"register_purpose": row.register_purpose, "registry_kind": row.premises_kind,
                                **_at(row)})
        for row in compare.egrn_unknown_numbers(c, run):
            yield _premises_finding(
                Kind.CADASTRAL_UNKNOWN, Severity.WARNING, row,
                f"premises {row.premises_number}: CadastralNumber {row.cadastral_number} is not in the EGRN extract "
                "of its building", {}, subject=row.cadastral_number or "")
        for dup in compare.duplicate_numbers(c):
            yield Finding(Kind.CADASTRAL_DUPLICATE, Severity.ERROR, "premises", dup.premises_guid,
                          f"CadastralNumber {dup.cadastral_number} is carried by premises {dup.premises_number} and "
                          f"{dup.others} other premises", {"cadastral_number": dup.cadastral_number,
                                                          "premises_number": dup.premises_number,
                                                          "others": dup.others},
                          subject=dup.cadastral_number, fias_house_guid=dup.fias_house_guid,
                          house_guid=dup.house_guid, org_guid=dup.org_guid)

    def scope(self, run_id: str) -> Any:
        return or_(compare.egrn_covered_houses(run_id), discrepancies.c.kind == Kind.CADASTRAL_DUPLICATE.value)


class AddressJob(Job):
    name = "address"
    source_kind = "gar"
    description = "houses' FIAS GUIDs and premises numbers against GAR (FIAS), and GAR's cadastral numbers"
    staging = (staging_gar_houses, staging_gar_apartments, staging_gar_hierarchy, staging_gar_params)
    reads = (houses, premises)

    def open(self, location: Path) -> list[Source]:
        """A region folder (``77/`` with AS_*.XML files), or the root of an unpacked extract (its region folders)."""
        if location.is_dir() and any(p.name.upper().startswith("AS_") for p in location.iterdir()):
            return [GarRegion(location)]
        return list(gar_regions(location))

    def stage(self, context: Context, sources: list[Source]) -> int:
        regions = [s for s in sources if isinstance(s, GarRegion)]
        staged = 0
        tables = {t.name: t for t in (staging_gar_houses, staging_gar_apartments, staging_gar_hierarchy,
                                      staging_gar_params)}
        for name, rows in staging.gar_rows(context.run_id, regions, context.today).items():
            staged += store.stage(context.connection, tables[name], context.progress(rows, name.split("_", 1)[1]))
        return staged

    def findings(self, context: Context) -> Iterator[Finding]:
        c, run = context.connection, context.run_id
        for house in compare.gar_retired_houses(c, run):
            fix = {"action": "replace_fias_guid", "successor": house.successor_guid, "manual": True} \
                if house.successor_guid else None
            yield Finding(Kind.FIAS_RETIRED, Severity.ERROR, "house", house.house_guid,
                          f"FIAS GUID {house.fias_house_guid} is no longer actual in GAR"
                          + (f"; its successor is {house.successor_guid}" if house.successor_guid else ""),
                          {"fias_house_guid": house.fias_house_guid, "successor": house.successor_guid,
                           "ended": house.end_date.isoformat() if house.end_date else None},
                          fias_house_guid=house.fias_house_guid, house_guid=house.house_guid,
                          org_guid=house.org_guid, suggested_fix=fix, score=0.9 if fix else None)
        for house in compare.gar_unknown_houses(c, run):
            yield Finding(Kind.FIAS_UNKNOWN, Severity.WARNING, "house", house.house_guid,
                          f"FIAS GUID {house.fias_house_guid} is unknown to GAR's extract of its municipality "
                          f"(OKTMO {house.oktmo})", {"fias_house_guid": house.fias_house_guid, "oktmo": house.oktmo},
                          fias_house_guid=house.fias_house_guid, house_guid=house.house_guid,
                          org_guid=house.org_guid)
        for row, known in compare.gar_premises(c, run):
            if not known:
                yield _premises_finding(Kind.PREMISES_UNKNOWN, Severity.WARNING, row,
                                        f"premises number {row.premises_number} is unknown to GAR in its house", {})
            elif row.register_number and row.cadastral_status != "number":
                yield _premises_finding(
                    Kind.CADASTRAL_CANDIDATE, Severity.WARNING, row,
                    f"premises {row.premises_number} has no CadastralNumber; GAR gives {row.register_number}",
                    {"register_cadastral": row.register_number, "register": "GAR AS_APARTMENTS_PARAMS TYPEID 8"},
                    subject=row.register_number, suggested_fix=_set_number(row, row.register_number, "gar"),
                    score=candidate_score(number_matches=True, area_ratio=None, purpose_matches=None))

    def scope(self, run_id: str) -> Any:
        return compare.gar_covered_houses(run_id)


class LicencesJob(Job):
    name = "licences"
    source_kind = "licences"
    description = "houses managed by management companies against the licence register"
    staging, reads = (staging_licences,), (mandates, organisations, documents, houses)

    def open(self, location: Path) -> list[Source]:
        return [LicenceRegister(location)]

    def stage(self, context: Context, sources: list[Source]) -> int:
        (source,) = sources
        assert isinstance(source, LicenceRegister)
        return store.stage(context.connection, staging_licences,
                           context.progress(staging.licence_rows(context.run_id, source), "licence houses"))

    def findings(self, context: Context) -> Iterator[Finding]:
        warn_until = context.today + timedelta(days=context.settings.licence_warning_days)
        for house in compare.managed_houses(context.connection, context.run_id, context.today):
            common: dict[str, Any] = {"fias_house_guid": house.fias_house_guid, "house_guid": house.house_guid,
                      "org_guid": house.org_guid}
            evidence = {"ogrn": house.ogrn, "organisation": house.org_name, "managed_from":
                        house.mandate_from.isoformat(), "licence": house.active_licence or house.any_licence,
                        "licence_status": "A" if house.active_licence else house.any_status}
            if house.active_licence is None:
                status = f"its licence {house.any_licence} has status {house.any_status}" if house.any_licence \
                    else "the register holds no licence of it"
                yield Finding(Kind.LICENCE_NOT_ACTIVE, Severity.ERROR, "house", house.fias_house_guid,
                              f"house {house.fias_house_guid} is managed by {house.org_name} (OGRN {house.ogrn}): "
                              f"{status}", evidence, **common)
            elif not house.listed:
                yield Finding(Kind.LICENCE_HOUSE_NOT_LISTED, Severity.ERROR, "house", house.fias_house_guid,
                              f"house {house.fias_house_guid} is managed by {house.org_name} under a management "
                              f"contract, but its licence {house.active_licence} does not list it", evidence,
                              **common)
            elif house.listed_until is not None and house.listed_until <= warn_until:
                yield Finding(Kind.LICENCE_ENDING, Severity.INFO, "house", house.fias_house_guid,
                              f"licence {house.active_licence} lists house {house.fias_house_guid} until "
                              f"{house.listed_until.isoformat()}",
                              {**evidence, "until": house.listed_until.isoformat()},
                              subject=house.listed_until.isoformat(), **common)


class AuthorityJob(Job):
    name = "authority"
    description = "the registry against itself: managers, overlaps, supply accounts, readings against devices"
    reads = (houses, mandates, accounts, account_accommodations, metering_devices, meter_readings)

    def findings(self, context: Context) -> Iterator[Finding]:
        c, today = context.connection, context.today
        for h in compare.houses_without_manager(c, today):
            yield Finding(Kind.NO_MANAGER, Severity.WARNING, "house", h.house_guid,
                          f"house {h.fias_house_guid} has no management contract or charter in force on "
                          f"{today.isoformat()}", {"on": today.isoformat()}, fias_house_guid=h.fias_house_guid,
                          house_guid=h.house_guid, org_guid=h.org_guid)
        for o in compare.management_overlaps(c):
            yield Finding(Kind.MANAGEMENT_OVERLAP, Severity.ERROR, "house", o.fias_house_guid,
                          f"house {o.fias_house_guid} is managed by {o.org_guid} and {o.other_org} over one period "
                          f"(from {o.starts_on.isoformat()})",
                          {"organisations": [o.org_guid, o.other_org], "documents": [o.document, o.other_document],
                           "from": o.starts_on.isoformat()},
                          subject=f"{o.document}|{o.other_document}", fias_house_guid=o.fias_house_guid,
                          org_guid=o.org_guid)
        for a in compare.supplier_accounts_without_manager(c):
            yield Finding(Kind.SUPPLIER_WITHOUT_MANAGER, Severity.INFO, "account", a.account_guid,
                          f"supply account {a.account_guid} pays for premises {a.premises_guid}, for which the "
                          "house's manager has posted no open account", {"premises_guid": a.premises_guid},
                          subject=a.premises_guid, house_guid=a.house_guid, org_guid=a.org_guid)
        for d in compare.readings_after_archive(c):
            yield Finding(Kind.READING_AFTER_ARCHIVE, Severity.ERROR, "device", d.root_guid,
                          f"device {d.number} was archived on {d.limit_date.isoformat()} but holds {d.readings} "
                          f"reading(s) dated after it ({d.first.isoformat()}…{d.last.isoformat()})",
                          {"archived_on": d.limit_date.isoformat(), "readings": d.readings,
                           "first": d.first.isoformat(), "last": d.last.isoformat()},
                          fias_house_guid=d.fias_house_guid, house_guid=d.house_guid, org_guid=d.org_guid)
        for d in compare.readings_after_verification_due(c):
            yield Finding(Kind.VERIFICATION_OVERDUE, Severity.WARNING, "device", d.root_guid,
                          f"device {d.number} was due for verification on {d.limit_date.isoformat()} and still "
                          f"received {d.readings} reading(s) after it (last {d.last.isoformat()})",
                          {"verification_due": d.limit_date.isoformat(), "readings": d.readings,
                           "last": d.last.isoformat()},
                          fias_house_guid=d.fias_house_guid, house_guid=d.house_guid, org_guid=d.org_guid)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


JOBS: dict[str, Job] = {job.name: job for job in (CadastralJob(), AddressJob(), LicencesJob(), AuthorityJob())}
