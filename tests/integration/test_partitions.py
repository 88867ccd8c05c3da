"""Monthly partitions of ``meter_readings`` on PostgreSQL (migration 0018, ``gateway.registry.partitions``):
the layout a fresh registry gets, readings already stored moved by the migration (and back by its downgrade),
months split off the catch-alls with their rows, two maintainers at once, the scheduler's job and the command."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from gateway import bootstrap
from gateway.bootstrap import Gateway
from gateway.cli import main
from gateway.config import Config, DatabaseConfig
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
from gateway.domain.values import Guid
from gateway.registry import audit, db, partitions
from gateway.services import houses as house_services
from gateway.services import metering as metering_services
from gateway.signing import Signer
from gateway.soap import houses_xml
from gateway.sync import scheduler
from gateway.xmlparse import parse_untrusted
from tests.conftest import Pki
from tests.integration.test_as_of import FIXTURES, SEVER_1, Scenario, _nsi

TODAY = datetime.now(UTC).date()
THIS = partitions.month_of(TODAY)


@pytest.fixture
def pg(gateway: Gateway) -> Gateway:
    if gateway.engine.dialect.name != "postgresql":
        pytest.skip("meter_readings is partitioned on PostgreSQL only (SQLite keeps one table)")
    return gateway


def _device(gateway: Gateway) -> tuple[Scenario, Guid, str]:
    """The fixture house and one cold-water meter in service since 2019; returns its root and resource code."""
    run = Scenario(gateway)
    water = _nsi(gateway.engine, 2)
    body = parse_untrusted((FIXTURES / "houses" / "sever-1.xml").read_bytes())
    run.step("house", lambda uow, s, m, now: house_services.import_house_uo(
        uow, s, houses_xml.decode_import_house_uo(body), message=m, now=now))
    device = run.step("device", lambda uow, s, m, now: metering_services.import_devices(
        uow, s, ImportDevices(SEVER_1, (DeviceToCreate(Guid.new(), DeviceData(
            number="ХВ-П", kind=DeviceKind.COLLECTIVE, resources=(DeviceResource(water, False, (Decimal(0),)),),
            commissioned_on=date(2019, 1, 10))),)), message=m, now=now))[0].device
    return run, device.root_guid, water.code


def _post(run: Scenario, root: Guid, code: str, *readings: tuple[str, date, str | None]) -> None:
    """Readings (value, date, explicit period or None) in one message."""
    run.step("readings", lambda uow, s, m, now: metering_services.import_readings(uow, s, ImportReadings(SEVER_1, tuple(
        ReadingToImport(Guid.new(), root, None, ReadingKind.CURRENT, code, (Decimal(value),), on, period)
        for value, on, period in readings)), message=m, now=now))


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    """Every reading row with the table it is stored in."""
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT id, guid, period, v1, superseded_at IS NULL, tableoid::regclass::text FROM meter_readings "
            "ORDER BY id"))]


def _month_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:]), 1)


def _contiguous(listed: list[partitions.Partition]) -> None:
    assert listed[0].name == partitions.BEFORE and listed[0].lower is None
    assert listed[-1].name == partitions.AFTER and listed[-1].upper is None
    assert all(a.upper == b.lower for a, b in zip(listed, listed[1:], strict=False))
    assert all(p.name == partitions.name_of(p.lower) for p in listed if p.monthly and p.lower)


def test_a_fresh_registry_has_a_month_partition_for_last_quarter_to_three_months_ahead(pg: Gateway) -> None:
    with pg.engine.connect() as connection:
        listed = partitions.listing(connection)
    _contiguous(listed)
    months = [p.lower for p in listed if p.monthly]
    assert months == [partitions.shift(THIS, n) for n in range(-3, 4)]


def test_readings_stored_before_the_migration_are_moved_into_months_and_back_by_its_downgrade(pg: Gateway) -> None:
    engine = pg.engine
    # posted at head (the code writes today's schema), then taken back to one table: a registry of revision 0017
    run, root, code = _device(pg)
    early = partitions.shift(THIS, -30)  # older than the 24 months the migration makes
    _post(run, root, code, ("10", _month_day(early).replace(day=25), None))
    _post(run, root, code, *((str(40 - n), _month_day(partitions.shift(THIS, -n)).replace(day=1), None)
                             for n in (9, 8, 7)))
    _post(run, root, code, ("33.5", _month_day(partitions.shift(THIS, -7)).replace(day=1), None))  # a correction
    command.downgrade(db.alembic_config(engine), "0017")  # one table again
    with engine.connect() as connection:
        assert not partitions.partitioned(connection)
    before = _rows(engine)
    assert len(before) == 5 and {r[5] for r in before} == {"meter_readings"}

    db.upgrade(engine, "head")
    after = _rows(engine)
    assert [r[:5] for r in after] == [r[:5] for r in before]  # every row, id and all, kept or superseded
    where = {r[2]: r[5] for r in after}
    assert where[early] == partitions.BEFORE
    for n in (9, 8, 7):
        assert where[partitions.shift(THIS, -n)] == partitions.name_of(partitions.shift(THIS, -n))
    with engine.connect() as connection:
        listed = partitions.listing(connection)
    _contiguous(listed)
    assert [p.lower for p in listed if p.monthly][0] == partitions.shift(THIS, -24)
    # the sequence goes on after the copied ids; the one kept reading a period still holds across the layout
    _post(run, root, code, ("50", TODAY, None))
    assert _rows(engine)[-1][0] > before[-1][0]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO meter_readings (guid, device_root_guid, resource_code, kind, period, reading_date, v1, flags, "
            "posted_by, message_guid, transport_guid, recorded_at, changeset_id) SELECT :guid, device_root_guid, "
            "resource_code, kind, period, reading_date, v1, flags, posted_by, message_guid, transport_guid, "
            "recorded_at, changeset_id FROM meter_readings WHERE superseded_at IS NULL AND period = :period"),
            {"guid": str(Guid.ordered()), "period": THIS})

    kept = _rows(engine)
    command.downgrade(db.alembic_config(engine), "0017")
    assert [r[:5] for r in _rows(engine)] == [r[:5] for r in kept]
    assert {r[5] for r in _rows(engine)} == {"meter_readings"}
    db.upgrade(engine, "head")


def test_ensure_splits_months_off_both_catch_alls_with_their_rows(pg: Gateway) -> None:
    engine = pg.engine
    run, root, code = _device(pg)
    ahead, back = partitions.shift(THIS, 6), partitions.shift(THIS, -5)
    # a reading whose period lies beyond the months made (the registry takes the period as sent) and one older
    _post(run, root, code, ("5", _month_day(back).replace(day=20), None))
    _post(run, root, code, ("6", _month_day(THIS), ahead))
    stored = {r[2]: r for r in _rows(engine)}
    assert stored[ahead][5] == partitions.AFTER and stored[back][5] == partitions.BEFORE

    with engine.begin() as connection:
        created = partitions.ensure(connection, through=ahead, since=back)
    assert created == sorted(partitions.name_of(partitions.shift(THIS, n)) for n in (-5, -4, 4, 5, 6))
    moved = {r[2]: r for r in _rows(engine)}
    assert moved[ahead][:5] == stored[ahead][:5] and moved[ahead][5] == partitions.name_of(ahead)
    assert moved[back][:5] == stored[back][:5] and moved[back][5] == partitions.name_of(back)
    with engine.begin() as connection:
        assert partitions.ensure(connection, through=ahead, since=back) == []  # idempotent
        listed = partitions.listing(connection)
    _contiguous(listed)
    assert [p.lower for p in listed if p.monthly] == [partitions.shift(THIS, n) for n in range(-5, 7)]
    # the latest readings are read across the layout, newest period first
    with engine.connect() as connection:
        from gateway.registry.metering import MeteringRepository
        found = MeteringRepository(connection, None).recent([(str(root), code, "current")], 3)  # type: ignore[arg-type]
    assert [s.period for s in found[(str(root), code, "current")]] == [back, ahead]
    # a series' first possible period (its device's start) leaves the months before out of its read
    with engine.connect() as connection:
        key = (str(root), code, "current")
        bounded = MeteringRepository(connection, None).recent([key], 3, since={key: THIS})  # type: ignore[arg-type]
    assert [s.period for s in bounded[key]] == [ahead]
    with pytest.raises(ValueError), engine.begin() as connection:
        partitions.ensure(connection, through="2027-13")


def test_two_maintainers_at_once_create_each_month_once(pg: Gateway) -> None:
    barrier, results, errors = threading.Barrier(2), [], []

    def maintain() -> None:
        try:
            barrier.wait(10)
            results.append(partitions.maintain(pg.engine, today=TODAY, ahead=8))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=maintain) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(len(r) for r in results) == [0, 5]
    with pg.engine.connect() as connection:
        listed = partitions.listing(connection)
        entries = [e for e in audit.entries(connection, action="db.partitions")]
    _contiguous(listed)
    assert listed[-2].lower == partitions.shift(THIS, 8)
    assert len(entries) == 1


def test_months_ready_counts_the_months_made_after_this_one(pg: Gateway) -> None:
    with pg.engine.connect() as connection:
        assert partitions.months_ready(connection, today=TODAY) == 3
        assert partitions.months_ready(connection, today=_month_day(partitions.shift(THIS, 5))) == 0


def test_the_scheduler_keeps_the_months_ready(pg: Gateway, config: Config, pki: Pki) -> None:
    wider = Config(database=DatabaseConfig(url=config.database.url, schema=config.database.schema,
                                           partitions_ahead=5, partitions_schedule="15 0 * * *"))
    built = bootstrap.build(wider, signer=Signer(pki.gateway.key, pki.gateway.cert))
    try:
        planned = scheduler.build(built, blocking=False, host="test")
        assert scheduler.PARTITIONS_JOB in {job.id for job in planned.get_jobs()}
        assert scheduler.maintain_partitions() == [partitions.name_of(partitions.shift(THIS, n)) for n in (4, 5)]
        assert scheduler.maintain_partitions() == []
        with built.engine.connect() as connection:
            entry = next(iter(audit.entries(connection, action="db.partitions")))
        assert entry.actor == "scheduler@test" and entry.actor_kind == "scheduler"
    finally:
        built.engine.dispose()


def test_the_command_lists_and_ensures_the_partitions(pg: Gateway, config: Config) -> None:
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_DATABASE__PARTITIONS_AHEAD": "4"}
    runner = CliRunner()
    listed = runner.invoke(main, ["db", "partitions"], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"{partitions.name_of(THIS)} " in listed.output and "[MINVALUE," in listed.output
    ensured = runner.invoke(main, ["db", "partitions", "--ensure"], env=env)
    assert ensured.exit_code == 0, ensured.output
    assert ensured.output.startswith(f"created 1 partition(s): {partitions.name_of(partitions.shift(THIS, 4))}")
    assert runner.invoke(main, ["db", "partitions", "--ensure", "--since", "2026-99"], env=env).exit_code == 2
    assert runner.invoke(main, ["db", "partitions", "--since", "2026-01"], env=env).exit_code == 2


def test_each_series_keeps_its_first_period_and_a_rebuild_gives_the_same(gateway: Gateway) -> None:
    """``meter_series`` (migration 0020): the first period the latest readings are read back to, on both
    databases: set by a series' first reading, moved back by a back-dated one, untouched by later ones."""
    from sqlalchemy import select

    from gateway.registry.metering import rebuild_series
    from gateway.registry.tables import meter_series

    def spans() -> list[tuple[Any, ...]]:
        with gateway.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(select(
                meter_series.c.device_root_guid, meter_series.c.kind, meter_series.c.first_period)
                .order_by(meter_series.c.device_root_guid))]

    run, root, code = _device(gateway)
    assert spans() == []  # a meter without readings has no series
    months = [partitions.shift(THIS, -n) for n in (3, 2)]
    _post(run, root, code, *((str(20 + n), _month_day(m).replace(day=1), None) for n, m in enumerate(months)))
    assert spans() == [(str(root), "current", months[0])]
    _post(run, root, code, ("24", _month_day(months[1]).replace(day=2), None))  # a correction: same start
    assert spans() == [(str(root), "current", months[0])]
    earlier = partitions.shift(THIS, -5)
    _post(run, root, code, ("15", _month_day(earlier).replace(day=1), None))  # back-dated: the start moves back
    assert spans() == [(str(root), "current", earlier)]
    key = (str(root), code, "current")

    def latest() -> list[tuple[str, Decimal]]:
        with gateway.unit_of_work() as uow:
            return [(s.period, s.values[0]) for s in uow.metering.recent([key], 3)[key]]

    assert latest() == [(earlier, Decimal(15)), (months[0], Decimal(20)), (months[1], Decimal(24))]
    before = spans()
    with gateway.engine.begin() as connection:
        connection.execute(meter_series.delete())  # as after readings loaded by SQL, before the rebuild
    if gateway.engine.dialect.name == "postgresql":
        assert latest() == []  # PostgreSQL reads a series only between its bounds: none, nothing
    with gateway.engine.begin() as connection:
        assert rebuild_series(connection) == 1
    assert spans() == before
    assert latest() == [(earlier, Decimal(15)), (months[0], Decimal(20)), (months[1], Decimal(24))]
    command.downgrade(db.alembic_config(gateway.engine), "0019")  # the migration fills it from what is stored
    db.upgrade(gateway.engine, "head")
    assert spans() == before


def test_db_series_counts_what_meter_series_lacks_and_rebuilds_it_audited(gateway: Gateway, config: Config) -> None:
    from gateway.registry.tables import meter_series

    run, root, code = _device(gateway)
    _post(run, root, code, ("20", _month_day(partitions.shift(THIS, -2)).replace(day=1), None))
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema}
    cli = CliRunner()
    shown = cli.invoke(main, ["db", "series"], env=env)
    assert shown.exit_code == 0 and "1 series; series with kept readings missing from it or starting after " \
        "their first kept reading: 0" in shown.output, shown.output
    with gateway.engine.begin() as connection:
        connection.execute(meter_series.delete())  # readings loaded by SQL leave it behind
    lacking = cli.invoke(main, ["db", "series"], env=env)
    assert "first kept reading: 1 (run gateway db series --rebuild)" in lacking.output, lacking.output
    rebuilt = cli.invoke(main, ["db", "series", "--rebuild"], env=env)
    assert rebuilt.exit_code == 0 and "rebuilt meter_series: 1 series" in rebuilt.output, rebuilt.output
    with gateway.engine.connect() as connection:
        assert [e.detail for e in audit.entries(connection, action="db.series")] == [{"series": 1}]


def test_two_writers_starting_one_series_at_once_keep_the_earlier_start(pg: Gateway) -> None:
    """The later writer of a new series waits for the first one's row and compares: whichever commits first,
    the earlier period stays (a start later than a kept reading would hide that reading from the rules)."""
    from types import SimpleNamespace

    from sqlalchemy import select

    from gateway.registry.tables import meter_series

    _run, root, code = _device(pg)
    key = (str(root), code, "current")
    first = pg.unit_of_work()
    uow = first.__enter__()
    try:
        uow.metering._widen_series([SimpleNamespace(key=key, period="2026-06")])  # type: ignore[list-item]
        done: list[str] = []

        def second() -> None:
            with pg.unit_of_work() as other:
                other.metering._widen_series([SimpleNamespace(key=key, period="2026-03")])  # type: ignore[list-item]
                other.commit()
            done.append("committed")

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and not done  # waiting for the first writer's row
        uow.commit()
    finally:
        first.__exit__(None, None, None)
    thread.join(10)
    assert done == ["committed"]
    with pg.engine.connect() as connection:
        assert connection.execute(select(meter_series.c.first_period)).scalar_one() == "2026-03"
