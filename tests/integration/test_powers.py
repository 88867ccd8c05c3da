"""Delegated powers in the registry: versioned with their provenance, audited, one holder per function even
under concurrent grants, read as of any moment; and `gateway powers` from the command line."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.bootstrap import Gateway
from gateway.cli import main
from gateway.domain.authority import today
from gateway.domain.powers import Function, PowerState
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid
from gateway.errors import Code, PowerRefused
from gateway.registry import versions
from gateway.registry.tables import audit_log
from gateway.services import powers as power_services

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
MC2 = Guid("d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60")
BILLING = Guid("5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d")
HOA = Guid("0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21")
SUPPORT = power_services.Actor("support-anna")


def operator(org: Guid, reason: str = "signed request of the organisation, file 17/2026") -> Provenance:
    return Provenance.of_operator(SUPPORT.name, reason, org=org)


def grant(gateway: Gateway, *functions: Function, grantor: Guid = MC, holder: Guid = BILLING,
          starts_on: date | None = None, ends_on: date | None = None, now: datetime | None = None):  # type: ignore[no-untyped-def]
    now = now or datetime.now(UTC)
    with gateway.unit_of_work(operator(grantor)) as uow:
        power = power_services.grant(uow, grantor=grantor, holder=holder,
                                     functions=frozenset(functions or (Function.READINGS,)),
                                     starts_on=starts_on or today(now), ends_on=ends_on, now=now, actor=SUPPORT,
                                     reason="the grantor's letter")
        uow.commit()
    return power


def change(gateway: Gateway, verb, power, party: Guid, now: datetime | None = None):  # type: ignore[no-untyped-def]
    with gateway.unit_of_work(operator(party)) as uow:
        changed = verb(uow, power.guid, now=now or datetime.now(UTC), actor=SUPPORT, reason="as agreed")
        uow.commit()
    return changed


def test_every_change_of_a_power_is_a_version_with_its_provenance_and_an_audit_entry(gateway: Gateway) -> None:
    granted = grant(gateway, Function.READINGS, Function.DEVICES)
    accepted = change(gateway, power_services.accept, granted, BILLING)
    recalled = change(gateway, power_services.recall, accepted, MC)

    with gateway.engine.connect() as connection:
        history = versions.versions_of(connection, str(granted.guid))
        audited = connection.execute(select(audit_log.c.action, audit_log.c.target, audit_log.c.actor,
                                            audit_log.c.outcome, audit_log.c.detail)
                                     .order_by(audit_log.c.id)).all()

    assert [v.data["state"] for v in history] == ["granted", "accepted", "recalled"]
    assert [v.data["version_number"] for v in history] == [1, 2, 3]
    assert all(v.provenance.startswith("operator support-anna") for v in history)
    assert history[0].recorded_to == history[1].recorded_from and history[-1].recorded_to is None
    assert recalled.state is PowerState.RECALLED and recalled.ended_at is not None
    assert [(a.action, a.target, a.actor, a.outcome) for a in audited] == [
        ("powers.grant", str(granted.guid), "support-anna", "ok"),
        ("powers.accept", str(granted.guid), "support-anna", "ok"),
        ("powers.recall", str(granted.guid), "support-anna", "ok")]
    detail = audited[0].detail if isinstance(audited[0].detail, dict) else json.loads(audited[0].detail)
    assert detail["functions"] == ["devices", "readings"] and detail["holder"] == str(BILLING)


def test_the_registry_reads_powers_as_of_any_moment(gateway: Gateway) -> None:
    granted = grant(gateway)
    before_acceptance = datetime.now(UTC)
    change(gateway, power_services.accept, granted, BILLING)

    with gateway.reader(before_acceptance) as then:
        states_then = [p.state for p in then.powers(grantor=str(MC))]
    with gateway.reader() as now:
        states_now = [p.state for p in now.powers(holder=str(BILLING))]

    assert states_then == ["granted"] and states_now == ["accepted"]


def test_a_second_holder_for_the_same_function_is_refused_until_the_first_ends(gateway: Gateway) -> None:
    first = grant(gateway, Function.READINGS)

    with pytest.raises(PowerRefused) as refused:
        grant(gateway, Function.READINGS, Function.ACCOUNTS, holder=MC2)
    change(gateway, power_services.renounce, first, BILLING)
    second = grant(gateway, Function.READINGS, holder=MC2)

    assert refused.value.code is Code.POWER_CONFLICT and str(first.guid) in refused.value.message
    assert second.holder == MC2


def test_concurrent_grants_of_one_function_leave_one_holder(gateway: Gateway) -> None:
    """The grantor's row is locked (PostgreSQL) or the database written by one at a time (SQLite): the check and
    the write of the one-holder rule are not interleaved by another grant."""
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def attempt(holder: Guid) -> None:
        barrier.wait()
        try:
            outcomes.append(grant(gateway, Function.READINGS, holder=holder))
        except PowerRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(holder,)) for holder in (BILLING, MC2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(map(str, outcomes)).count(str(Code.POWER_CONFLICT)) == 1
    with gateway.reader() as reader:
        assert len(list(reader.powers(grantor=str(MC)))) == 1


def test_a_holder_cannot_pass_on_what_it_holds(gateway: Gateway) -> None:
    grant(gateway, Function.READINGS, grantor=MC, holder=MC2)

    with pytest.raises(PowerRefused) as refused:
        grant(gateway, Function.READINGS, grantor=MC2, holder=BILLING)

    assert refused.value.code is Code.POWER_REDELEGATION


def test_a_power_changes_only_along_its_states(gateway: Gateway) -> None:
    granted = grant(gateway)
    recalled = change(gateway, power_services.recall, granted, MC)

    with pytest.raises(PowerRefused) as late_acceptance:
        change(gateway, power_services.accept, recalled, BILLING)
    with pytest.raises(PowerRefused) as unknown:
        with gateway.unit_of_work(operator(MC)) as uow:
            power_services.recall(uow, Guid.new(), now=datetime.now(UTC), actor=SUPPORT)

    assert late_acceptance.value.code is Code.POWER_TRANSITION_INVALID
    assert unknown.value.code is Code.POWER_NOT_FOUND


def test_an_expired_power_cannot_be_accepted(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    granted = grant(gateway, ends_on=today(now), now=now)
    assert granted.expires_at is not None

    with pytest.raises(PowerRefused) as refused:
        change(gateway, power_services.accept, granted, BILLING, now=granted.expires_at)

    assert refused.value.code is Code.POWER_TRANSITION_INVALID and "expired" in refused.value.message


# -- the command line ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"GATEWAY_DATABASE__URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "GATEWAY_LOGGING__LEVEL": "WARNING"}
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(main, ["orgs", "load", str(FIXTURES / "organisations.toml")], env=env).exit_code == 0

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["powers", *args], env=env)

    return run


def test_support_grants_accepts_lists_and_recalls_a_power_from_the_command_line(cli) -> None:  # type: ignore[no-untyped-def]
    granted = cli("grant", str(MC), str(BILLING), "-f", "readings", "-f", "devices", "--from", "2026-01-01",
                  "--to", "2099-12-31", "--reason", "letter 17/2026")
    guid = granted.output.split()[1].rstrip(":")
    accepted = cli("accept", guid)
    listed = cli("list", "--holder", str(BILLING))
    recalled = cli("recall", guid, "--reason", "contract with the billing centre ended")
    after = cli("list", "--grantor", str(MC))

    assert granted.exit_code == 0, granted.output
    assert accepted.exit_code == 0 and accepted.output.startswith(f"accepted {guid}")
    assert "ООО «УК Северный квартал» → АО «Расчётный центр ЖКХ» (тест)" in listed.output
    assert "devices, readings  2026-01-01–2099-12-31  accepted  v2" in listed.output
    assert recalled.exit_code == 0 and "recalled" in after.output and "v3" in after.output


def test_a_refused_grant_from_the_command_line_names_its_code_and_is_audited(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    regulator = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"
    refused = cli("grant", str(MC), regulator, "-f", "houses")

    assert refused.exit_code != 0 and "SRV005001" in refused.output and "regulator" in refused.output
    engine = create_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with engine.connect() as connection:
        row = connection.execute(select(audit_log.c.action, audit_log.c.outcome, audit_log.c.detail)
                                 .where(audit_log.c.action.startswith("powers."))).one()
    engine.dispose()
    detail = row.detail if isinstance(row.detail, dict) else json.loads(row.detail)
    assert (row.action, row.outcome, detail["code"]) == ("powers.grant", "refused", "SRV005001")


def test_the_listing_shows_a_power_past_its_last_day_as_expired(cli) -> None:  # type: ignore[no-untyped-def]
    last_day = today(datetime.now(UTC))  # the registry's calendar: UTC+12
    granted = cli("grant", str(HOA), str(BILLING), "-f", "meetings", "--to", last_day.isoformat())
    assert granted.exit_code == 0, granted.output
    guid = granted.output.split()[1].rstrip(":")
    cli("accept", guid)
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()

    assert "meetings" in cli("list").output
    # as of a later moment the registry knew nothing newer, and the power's last day was over by then
    assert "expired" in cli("list", "--as-of", later).output


def test_who_signed_under_which_power_is_part_of_the_archive_chain(gateway: Gateway) -> None:
    from sqlalchemy import update

    from gateway.messages import archive, queue
    from gateway.registry.tables import archive as archive_table

    power = grant(gateway)
    with gateway.unit_of_work() as uow:
        guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=Guid.new(), service="test",
                               operation="importMeteringDeviceValues", request=b"<envelope/>", payload=b"<x/>",
                               now=datetime.now(UTC), signed_by=BILLING, power=power.guid)
        uow.commit()
    with gateway.engine.begin() as connection:
        assert archive.verify(connection).intact
        connection.execute(update(archive_table).where(archive_table.c.message_guid == str(guid))
                           .values(signed_by=str(MC2)))  # someone rewrites who signed it
        report = archive.verify(connection)

    assert [(p.message_guid, p.what) for p in report.problems] == [
        (str(guid), "entry altered: its chain value does not match its fields")]
