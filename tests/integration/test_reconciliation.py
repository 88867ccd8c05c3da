"""Reconciliation against the fixture extracts (fixtures/reference/README.md lists every planted fact): each
job finds exactly what was planted, re-runs update instead of duplicating, what is mended resolves itself,
bad sources fail or stay partial without touching the worklist; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text, update

from gateway.bootstrap import Gateway
from gateway.config import ReconciliationConfig
from gateway.domain.discrepancies import Kind
from gateway.domain.model import Organisation
from gateway.domain.values import Guid
from gateway.registry import reconciliation as store
from gateway.registry.tables import HISTORY, audit_log, changesets, mandates, premises, staging_egrn
from gateway.services import houses as house_services
from gateway.soap import houses_xml
from gateway.sync.jobs import JOBS
from gateway.sync.runner import run_job
from gateway.xmlparse import parse_untrusted
from tests.conftest import message_uow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REFERENCE = FIXTURES / "reference"
SEVER_1, SEVER_2 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c", "4f1c2d3e-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
LIPOVAYA = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"


@pytest.fixture
def registry(gateway: Gateway, org_entries) -> Gateway:  # type: ignore[no-untyped-def]
    """The fixture houses posted by their organisations, reconciliation pointed at the fixture extracts."""
    for entry in org_entries:
        for path in entry.houses:
            with message_uow(gateway.engine, entry.organisation.guid) as uow:
                sender = uow.organisations.get(entry.organisation.guid)
                assert isinstance(sender, Organisation)
                house_services.import_house_uo(uow, sender, houses_xml.decode_import_house_uo(
                    parse_untrusted(path.read_bytes())), message=uow.provenance.message,  # type: ignore[union-attr]
                    now=datetime.now(UTC))
                uow.commit()
    gateway.config = _with(gateway, cadastral_source=str(REFERENCE / "egrn"), address_source=str(REFERENCE / "gar"),
                           licences_source=str(REFERENCE / "licences"))
    return gateway


def _with(gateway: Gateway, **settings: object):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(gateway.config, reconciliation=replace(gateway.config.reconciliation or ReconciliationConfig(),
                                                          **settings))


def found(gateway: Gateway, job: str, status: tuple[str, ...] = ("open", "acknowledged")) -> list[tuple[str, str]]:
    """(kind, the summary's subject: who and what) of the job's live discrepancies, sorted."""
    with gateway.engine.connect() as connection:
        rows = store.find(connection, job=job, status=status, limit=None)
        return sorted((r.kind, r.evidence.get("premises_number") or r.fias_house_guid or r.object_guid)
                      for r in rows)


def test_the_cadastral_job_finds_exactly_what_the_egrn_fixtures_plant(registry: Gateway) -> None:
    outcome = run_job(registry, "cadastral")
    assert outcome is not None and outcome.status == "succeeded" and outcome.issues == 0
    assert found(registry, "cadastral") == sorted([
        ("cadastral.candidate", "5"),  # Severny-1 flat 5: no number; EGRN: house, number and area match
        ("cadastral.candidate", "Н1"),  # Severny-2 Н1: No_RSO_GKN_EGRP_Registered; EGRN holds 3100
        ("cadastral.area_mismatch", "3"),  # Severny-1 flat 3: 63.0 against 67.9 (+7.8 %); flat 2's +0.5 % is not
        ("cadastral.purpose_mismatch", "6"),  # Severny-1 flat 6: residential against Нежилое
        ("cadastral.unknown_to_register", "4"),  # Severny-2 flat 4: 3004 is not in the extract of its building
    ])
    with registry.engine.connect() as connection:
        candidate = next(r for r in store.find(connection, kind=[Kind.CADASTRAL_CANDIDATE.value], limit=None)
                         if r.evidence["premises_number"] == "5")
        assert candidate.suggested_fix == {"action": "set_cadastral_number", "premises_guid": candidate.object_guid,
                                           "cadastral_number": "77:02:0018004:2105", "from": "missing",
                                           "source": "egrn"}
        assert float(candidate.score or 0) == 1.0
        assert candidate.evidence["file"].endswith("-2105.xml") and candidate.evidence["line"]
        assert connection.execute(select(func.count()).select_from(staging_egrn)).scalar() == 0  # cleaned up


def test_the_address_job_finds_exactly_what_the_gar_fixtures_plant(registry: Gateway) -> None:
    outcome = run_job(registry, "address")
    assert outcome is not None and outcome.status == "succeeded"
    assert found(registry, "address") == sorted([
        ("address.fias_retired", SEVER_2),
        ("address.premises_unknown", "3"),  # Lipovaya 7 flat 3: GAR knows 1 and 2 only
        ("cadastral.candidate", "5"),  # Severny-1 flat 5: GAR's TYPEID 8 row 2105
        ("cadastral.candidate", "Н1"),  # Severny-2 Н1, found under the successor house
    ])
    with registry.engine.connect() as connection:
        retired = next(store.find(connection, kind=[Kind.FIAS_RETIRED.value], limit=None))
    assert retired.suggested_fix == {"action": "replace_fias_guid", "successor": "e2a7c0d4-6b1f-4e3a-9c5d-7f8091a2b3c4",
                                     "manual": True}


def test_the_licences_job_finds_the_house_the_managers_licence_does_not_list(registry: Gateway) -> None:
    outcome = run_job(registry, "licences")
    assert outcome is not None and outcome.status == "succeeded"
    assert found(registry, "licences") == [("licence.house_not_listed", SEVER_2)]


def test_the_authority_job_finds_inconsistencies_of_the_registry_itself(registry: Gateway) -> None:
    assert run_job(registry, "authority") is not None
    assert found(registry, "authority") == []  # the fixture registry is consistent
    with registry.engine.begin() as connection:  # data of an older import or a restored backup, say
        row = dict(connection.execute(select(mandates).where(mandates.c.fias_house_guid == LIPOVAYA)).mappings()
                   .one())
        row.pop("id")
        connection.execute(mandates.insert().values({**row, "org_guid": MC, "object_version_guid": str(Guid.new())}))
        connection.execute(update(mandates).where(mandates.c.fias_house_guid == SEVER_2).values(
            ends_on=date(2021, 1, 1)))
    assert run_job(registry, "authority") is not None
    assert found(registry, "authority") == sorted([("authority.no_manager", SEVER_2),
                                                   ("authority.overlap", LIPOVAYA)])


def test_a_rerun_updates_instead_of_duplicating_and_what_is_mended_resolves_itself(registry: Gateway) -> None:
    first = run_job(registry, "cadastral")
    second = run_job(registry, "cadastral")
    assert first is not None and second is not None
    assert sum(second.counts.new.values()) == 0 and sum(second.counts.found.values()) == 5
    with registry.engine.connect() as connection:
        assert len(list(store.find(connection, job="cadastral", status=(), limit=None))) == 5
    with message_uow(registry.engine, Guid(MC)) as uow:  # the provider mends flat 3's area
        flat3 = uow.connection.execute(select(premises.c.guid).join_from(
            premises, HISTORY["houses"], premises.c.house_guid == HISTORY["houses"].c.guid).where(
            HISTORY["houses"].c.fias_house_guid == SEVER_1, premises.c.number == "3")).scalar()
        current = uow.houses.get_premises(Guid(flat3))
        from dataclasses import replace
        from decimal import Decimal
        uow.houses.update_premises(current, replace(current.data, total_area=Decimal("67.9")),  # type: ignore[union-attr,arg-type]
                                   at=datetime.now(UTC))
        uow.commit()
    third = run_job(registry, "cadastral")
    assert third is not None and third.counts.auto_resolved == {"cadastral.area_mismatch": 1}
    assert ("cadastral.area_mismatch", "3") not in found(registry, "cadastral")
    assert ("cadastral.area_mismatch", "3") in found(registry, "cadastral", ("auto_resolved",))


def test_applying_a_candidate_is_an_operators_versioned_change_and_resolves_it(registry: Gateway) -> None:
    from gateway.sync import fixes

    run_job(registry, "cadastral")
    with registry.engine.connect() as connection:
        candidate = next(r for r in store.find(connection, kind=[Kind.CADASTRAL_CANDIDATE.value], limit=None)
                         if r.evidence["premises_number"] == "5")
    changeset = fixes.apply(registry, candidate.id, actor="support-anna", reason="EGRN extract of 2026-09-28")
    with registry.engine.connect() as connection:
        number = connection.execute(select(premises.c.cadastral_number).where(
            premises.c.guid == candidate.object_guid)).scalar()
        provenance = connection.execute(select(changesets).where(changesets.c.id == changeset)).mappings().one()
        versions = connection.execute(select(func.count()).select_from(HISTORY["premises"]).where(
            HISTORY["premises"].c.guid == candidate.object_guid)).scalar()
        after = store.get(connection, candidate.id)
        audited = connection.execute(select(audit_log.c.action, audit_log.c.actor)).all()
    assert number == "77:02:0018004:2105" and versions == 2
    assert (provenance["kind"], provenance["actor"], provenance["role"]) == ("operator", "support-anna", "support")
    assert "EGRN extract of 2026-09-28" in provenance["reason"] and candidate.id in provenance["reason"]
    assert after is not None and after.status == "resolved" and after.applied_changeset == changeset
    assert ("reconcile.apply", "support-anna") in audited
    again = run_job(registry, "cadastral")
    assert again is not None and "cadastral.candidate" not in again.counts.new


def test_a_truncated_extract_fails_the_run_and_leaves_the_worklist_as_it_was(registry: Gateway) -> None:
    run_job(registry, "cadastral")
    before = found(registry, "cadastral")
    failed = run_job(registry, "cadastral", source=str(REFERENCE / "malformed" / "egrn-truncated"))
    assert failed is not None and failed.status == "failed" and "SYN001001" in (failed.error or "")
    assert "line 24" in (failed.error or "")
    assert found(registry, "cadastral") == before
    with registry.engine.connect() as connection:
        (run,) = store.runs(connection, job="cadastral", limit=1)
        assert run.status == "failed" and run.error == failed.error
        assert connection.execute(select(func.count()).select_from(staging_egrn)).scalar() == 0
    assert run_job(registry, "cadastral") is not None  # the lock was released


def test_a_source_with_bad_records_makes_the_run_partial_and_resolves_nothing(registry: Gateway,
                                                                             tmp_path: Path) -> None:
    run_job(registry, "cadastral")
    before = found(registry, "cadastral")
    mixed = tmp_path / "egrn"
    shutil.copytree(REFERENCE / "egrn" / "sever-1", mixed)  # Severny-2's records are missing
    shutil.copy(REFERENCE / "malformed" / "egrn-bad-values" / next(
        p.name for p in (REFERENCE / "malformed" / "egrn-bad-values").iterdir()), mixed / "bad.xml")
    partial = run_job(registry, "cadastral", source=str(mixed))
    assert partial is not None and partial.status == "partial" and partial.issues > 0
    assert partial.counts.auto_resolved == {}
    assert set(before) <= set(found(registry, "cadastral"))
    with registry.engine.connect() as connection:
        issues = store.issues_of(connection, partial.run_id)
    assert issues and all(code == "SYN001003" and file.endswith("bad.xml") and line for file, line, code, _ in issues)


def test_a_job_runs_once_at_a_time(registry: Gateway) -> None:
    with registry.engine.begin() as connection:
        connection.execute(store.job_locks.insert().values(
            job="cadastral", run_id=str(Guid.new()), holder="other-host", acquired_at=datetime.now(UTC),
            expires_at=datetime.now(UTC) + timedelta(minutes=5)))
    with pytest.raises(store.JobBusy, match="other-host"):
        run_job(registry, "cadastral")
    with registry.engine.begin() as connection:  # an expired lock (its holder died) is taken over
        connection.execute(update(store.job_locks).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert run_job(registry, "cadastral") is not None


def test_support_works_the_worklist_from_the_command_line(registry: Gateway, config) -> None:  # type: ignore[no-untyped-def]
    from gateway.cli import main

    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING", "GATEWAY_RECONCILIATION__CADASTRAL_SOURCE": str(REFERENCE / "egrn")}
    runner = CliRunner()
    ran = runner.invoke(main, ["reconcile", "run", "cadastral"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "succeeded" in ran.output and "cadastral.candidate" in ran.output
    listed = runner.invoke(main, ["reconcile", "discrepancies", "--kind", "cadastral.candidate", "--format", "json"],
                           env=env)
    rows = json.loads(listed.output)
    assert len(rows) == 2 and {r["kind"] for r in rows} == {"cadastral.candidate"}
    as_csv = runner.invoke(main, ["reconcile", "discrepancies", "--format", "csv"], env=env)
    assert as_csv.output.splitlines()[0].startswith("id,status,job,kind") and len(as_csv.output.splitlines()) == 6
    target = rows[0]["id"]
    assert runner.invoke(main, ["reconcile", "ack", target, "--note", "calling the УК"], env=env).exit_code == 0
    assert runner.invoke(main, ["reconcile", "resolve", target, "--note", "checked"], env=env).exit_code == 0
    again = runner.invoke(main, ["reconcile", "resolve", target, "--note", "again"], env=env)
    assert again.exit_code != 0 and "resolved already" in (again.output + str(again.exception))
    other = next(r["id"] for r in rows if r["id"] != target)
    applied = runner.invoke(main, ["reconcile", "apply", other, "--reason", "EGRN says so"], env=env)
    assert applied.exit_code == 0 and "change set" in applied.output
    runs = runner.invoke(main, ["reconcile", "runs"], env=env)
    assert "cadastral" in runs.output and "succeeded" in runs.output
    assert "cadastral" in runner.invoke(main, ["reconcile", "list"], env=env).output
    with registry.engine.connect() as connection:
        actions = [a for a, in connection.execute(select(audit_log.c.action).order_by(audit_log.c.id))]
    assert actions[-3:] == ["reconcile.acknowledged", "reconcile.resolved", "reconcile.apply"]


def test_every_job_is_known_to_the_cli() -> None:
    assert set(JOBS) == {"cadastral", "address", "licences", "authority"}


def test_staging_rows_of_other_runs_are_left_alone(registry: Gateway) -> None:
    with registry.engine.begin() as connection:
        connection.execute(staging_egrn.insert().values(run_id="00000000-0000-4000-8000-000000000000",
                                                        cad_number="77:02:0018004:2105", kind="room", file="x"))
    assert run_job(registry, "cadastral") is not None
    with registry.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM staging_egrn")).scalar() == 1
