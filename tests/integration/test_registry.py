"""The registry on SQLite and PostgreSQL: migrations, writes with versions, per-object savepoints."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text

from gateway.domain.commands import HouseToCreate, ImportHouseUO, PremisesToCreate
from gateway.domain.model import Organisation
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, Conflict
from gateway.registry import db
from gateway.registry.tables import HISTORY, changesets, houses, premises
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import houses as house_services
from gateway.soap import houses_xml
from gateway.xmlparse import parse_untrusted
from tests.conftest import message_uow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "houses"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
HOA = Guid("0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21")
RSO = Guid("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6e")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _command(name: str) -> ImportHouseUO:
    return houses_xml.decode_import_house_uo(parse_untrusted((FIXTURES / name).read_bytes()))


def _import(engine: Engine, org: Guid, name: str):  # type: ignore[no-untyped-def]
    with message_uow(engine, org, now=NOW) as uow:
        sender = uow.organisations.get(org)
        assert isinstance(sender, Organisation)
        results = house_services.import_house_uo(uow, sender, _command(name), message=uow.provenance.message,
                                                 now=NOW)
        uow.commit()
    return results


def test_migrations_reach_head(engine: Engine) -> None:
    assert db.current_revision(engine) == db.head_revision()


def test_house_and_premises_are_registered_with_unique_numbers_and_versions(engine: Engine) -> None:
    results = _import(engine, MC, "sever-1.xml")
    assert all(r.ok for r in results) and len(results) == 8
    house = results[0]
    assert re.fullmatch(r"[0-9]{25}-[0-9]{5}", house.unique_number or "")
    assert all(re.fullmatch(r"[0-9]{25}-[0-9]{10}", r.unique_number or "") for r in results[1:])
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(premises)).scalar() == 7
        kept = {name: connection.execute(select(func.count()).select_from(HISTORY[name])).scalar()
                for name in ("houses", "premises", "documents", "mandates")}
        provenance = connection.execute(select(changesets.c.kind, changesets.c.message_guid).join(
            HISTORY["premises"], HISTORY["premises"].c.changeset_id == changesets.c.id).distinct()).all()
    # besides the fixture's documents (two management contracts, a charter and a supply contract) and their houses
    assert kept == {"houses": 1, "premises": 7, "documents": 4, "mandates": 6}
    assert [kind for kind, message in provenance if message] == ["message"]


def test_one_bad_object_is_refused_and_the_rest_of_the_batch_is_stored(engine: Engine) -> None:
    results = _import(engine, MC, "sever-2.xml")
    refused = [r for r in results if not r.ok]
    assert len(refused) == 1 and refused[0].error is not None
    assert refused[0].error.code is Code.CADASTRAL_NUMBER_INVALID
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(premises)).scalar() == 4


def test_registering_the_same_house_again_is_refused_without_a_second_write(engine: Engine) -> None:
    _import(engine, MC, "sever-1.xml")
    again = _import(engine, MC, "sever-1.xml")
    assert again[0].error is not None and again[0].error.code is Code.HOUSE_ALREADY_REGISTERED
    assert {r.error.code for r in again[1:] if r.error} == {Code.PARENT_REJECTED}
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(houses)).scalar() == 1


def test_another_organisations_house_is_refused_as_outside_authority(engine: Engine) -> None:
    _import(engine, MC, "sever-1.xml")
    results = _import(engine, HOA, "sever-1.xml")
    assert results[0].error is not None and results[0].error.code is Code.NO_MANDATE
    assert "managed or supplied by 6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9" in results[0].error.description


def test_a_resource_supplier_may_not_post_houses_as_management_organisation(engine: Engine) -> None:
    results = _import(engine, RSO, "sever-1.xml")
    assert {r.error.code for r in results if r.error} == {Code.AUTHORITY_DENIED}
    assert all(not r.ok for r in results)


def test_a_unique_key_collision_rolls_back_only_that_object(engine: Engine) -> None:
    _import(engine, HOA, "lipovaya-7.xml")
    with message_uow(engine, HOA) as uow:
        with pytest.raises(Conflict):
            with uow.savepoint():
                row = uow.connection.execute(select(premises).limit(1)).mappings().one()
                uow.connection.execute(insert(premises).values({**row, "id": None, "guid": str(Guid.new())}))
        assert uow.connection.execute(select(func.count()).select_from(premises)).scalar() == 3
        uow.commit()


def test_invalid_house_data_yields_its_code_and_refuses_its_premises(engine: Engine) -> None:
    command = _command("sever-1.xml")
    assert isinstance(command.house, HouseToCreate)
    broken = ImportHouseUO(house=HouseToCreate(command.house.transport_guid, InvalidValue("TotalSquare is missing")),
                           premises=command.premises)
    with message_uow(engine, MC) as uow:
        sender = uow.organisations.get(MC)
        assert sender is not None
        results = house_services.import_house_uo(uow, sender, broken, message=uow.provenance.message, now=NOW)
    assert results[0].error is not None and results[0].error.code is Code.VALUE_INVALID
    assert {r.error.code for r in results[1:] if r.error} == {Code.PARENT_REJECTED}


def test_a_batch_that_collides_with_a_concurrent_write_falls_back_to_per_object_results(engine: Engine) -> None:
    """Another transaction registered flat 2 after our duplicate check: only flat 2 is refused."""
    from gateway.services.houses import _add_premises

    command = _command("lipovaya-7.xml")
    house_result = _import(engine, HOA, "lipovaya-7.xml")[0]
    assert house_result.guid is not None and house_result.unique_number is not None
    fresh = [PremisesToCreate(Guid.new(), replace(p.data, number=f"{p.data.number}0"))  # type: ignore[union-attr]
             for p in command.premises if isinstance(p, PremisesToCreate)]
    colliding = PremisesToCreate(Guid.new(), next(p.data for p in command.premises  # type: ignore[union-attr]
                                                  if isinstance(p, PremisesToCreate) and p.data.number == "2"))
    batch = list(enumerate([fresh[0], colliding, fresh[1]], start=1))
    with message_uow(engine, HOA) as uow:
        sender = uow.organisations.get(HOA)
        assert sender is not None
        results = dict(_add_premises(uow, sender, (house_result.guid, house_result.unique_number), batch, now=NOW))
        uow.commit()
    assert results[1].ok and results[3].ok
    assert results[2].error is not None and results[2].error.code is Code.PREMISES_DUPLICATE
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(premises)).scalar() == 5


def test_timestamps_come_back_timezone_aware_on_every_database(engine: Engine) -> None:
    _import(engine, MC, "sever-1.xml")
    command = _command("sever-1.xml")
    assert isinstance(command.house, HouseToCreate) and not isinstance(command.house.data, InvalidValue)
    with UnitOfWork(engine) as uow:
        house = uow.houses.get(command.house.data.fias_house_guid)
    assert house is not None and house.updated_at == NOW and house.updated_at.tzinfo is not None
    assert all(p.updated_at.tzinfo is not None for p in house.premises)


def test_the_migrations_build_exactly_the_declared_tables(engine: Engine) -> None:
    """alembic's autogenerate finds nothing to add: tables.py and the migrations describe one schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gateway.registry.partitions import listing as partitions_of
    from gateway.registry.tables import metadata

    with engine.connect() as connection:
        partitions = {p.name for p in partitions_of(connection)}
        differences = compare_metadata(MigrationContext.configure(connection, opts={
            "compare_type": False,
            # the partitions of meter_readings are the table itself (PostgreSQL, migration 0018)
            "include_name": lambda name, kind, _parents: not (kind == "table" and name in partitions)}), metadata)
    if partitions:
        # PostgreSQL requires the partition key in every unique index: the GUID is unique with its period there,
        # the only difference the migrations make to what tables.py declares
        widened = [d for d in differences if d[0] in {"add_constraint", "remove_constraint"}
                   and d[1].name == "uq_meter_readings_guid"]
        assert {d[0] for d in widened} == {"add_constraint", "remove_constraint"}
        assert sorted(c.name for d in widened for c in d[1].columns) == ["guid", "guid", "period"]
        differences = [d for d in differences if d not in widened]
    assert differences == []


def test_message_bodies_are_compressed_with_lz4_on_postgresql(engine: Engine) -> None:
    """Migration 0010: the half-megabyte envelopes, payloads and results are TOASTed with LZ4, not pglz."""
    if engine.dialect.name != "postgresql":
        pytest.skip("column compression is a PostgreSQL storage setting")
    with engine.connect() as connection:
        offered = connection.execute(text("SELECT enumvals FROM pg_settings "
                                          "WHERE name = 'default_toast_compression'")).scalar()
        if "lz4" not in offered:
            pytest.skip("this PostgreSQL server was built without LZ4")
        methods = dict(connection.execute(text(
            "SELECT attname, attcompression FROM pg_attribute "
            "WHERE attrelid = 'messages'::regclass AND attname IN ('request', 'payload', 'result')")).all())
    assert methods == {"request": "l", "payload": "l", "result": "l"}


def test_batches_get_their_serials_in_row_order(engine: Engine) -> None:
    """reserve_serials: PostgreSQL draws the ids from the sequence, SQLite takes those after the highest (its
    writer holds the write lock); either way row i gets id i, and a later batch ids after them."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    from gateway.registry.sql import insert_rows, reserve_serials

    probe = Table("serial_probe", MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("code", String(10), nullable=False))
    probe.create(engine)
    try:
        with engine.begin() as connection:
            serials = reserve_serials(connection, probe, 50)
            insert_rows(connection, probe, [{"id": i, "code": str(n)} for n, i in enumerate(serials)])
            later = reserve_serials(connection, probe, 3)
            insert_rows(connection, probe, [{"id": i, "code": f"later{n}"} for n, i in enumerate(later)])
            stored = dict(connection.execute(select(probe.c.code, probe.c.id)).all())
    finally:
        probe.drop(engine)
    assert serials == sorted(set(serials)) and len(serials) == 50
    assert [stored[str(n)] for n in range(50)] == serials
    assert later == sorted(later) and later[0] > serials[-1] and len(set(stored.values())) == 53


def test_rows_inserted_with_their_first_versions_are_copied_as_stored(engine: Engine) -> None:
    """History.insert: the history rows are the current rows as stored (columns left out take their defaults),
    each opened by the unit of work's change set; one statement on PostgreSQL, insert then capture on SQLite."""
    _import(engine, MC, "sever-1.xml")
    with engine.connect() as connection:
        house = connection.execute(select(houses.c.guid)).scalar_one()
    rows = [{"guid": str(Guid.new()), "house_guid": house, "version_guid": str(Guid.new()), "kind": "residential",
             "number": f"K{n}", "cadastral_status": "absent", "created_at": NOW, "updated_at": NOW}
            for n in range(3)]  # no id: the serial default is what the copy must carry
    with message_uow(engine, MC, now=NOW) as uow:
        uow.history.insert(premises, rows)
        cid, started = uow.history.changeset()
        uow.commit()
    names = [c.name for c in premises.columns]
    guids = [row["guid"] for row in rows]
    h = HISTORY["premises"]
    with engine.connect() as connection:
        current = {r.guid: tuple(r) for r in connection.execute(
            select(*premises.c).where(premises.c.guid.in_(guids)))}
        kept = connection.execute(select(*(h.c[n] for n in names), h.c.changeset_id, h.c.recorded_from,
                                         h.c.recorded_to).where(h.c.guid.in_(guids))).all()
    assert len(current) == 3 and len(kept) == 3
    for version in kept:
        assert tuple(version[:len(names)]) == current[version.guid]
        assert (version.changeset_id, version.recorded_to) == (cid, None)
        assert version.recorded_from == started


def test_the_open_numbers_look_up_probes_its_index_whatever_the_statistics(engine: Engine) -> None:
    """An organisation's open account numbers are looked up one index probe per number: as ``number = ANY($2)``
    PostgreSQL planned a sequential scan of a small or not yet analysed table and kept it as the table grew,
    comparing every open account with each of the message's 100 numbers (16 ms a message after 6,000)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL plan (SQLite's IN list is searched through the index)")
    import psycopg
    from sqlalchemy import event

    with engine.begin() as connection:  # a registry's first few thousand accounts, analysed
        org = connection.execute(text("SELECT guid FROM organisations ORDER BY guid LIMIT 1")).scalar_one()
        connection.execute(text(
            "INSERT INTO accounts (guid, account_type, account_number, posted_by, is_renter, version_guid, created_at, "
            "updated_at) SELECT gen_random_uuid()::text, 'uo', 'LS-' || n, :org, false, gen_random_uuid()::text, "
            "now(), now() FROM generate_series(1, 4000) AS n"), {"org": org})
        connection.execute(text("ANALYZE accounts"))
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "account_number" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with UnitOfWork(engine) as uow:
            found = uow.accounts.open_numbers(Guid(org), [f"LS-{n}" for n in range(3901, 4001)])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(found) == 100 and len(seen) == 1
    statement, parameters = seen[0]
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        plan = "\n".join(row[0] for row in psycopg.ClientCursor(raw).execute("EXPLAIN " + statement, parameters))
    assert "uq_accounts_open_number" in plan and "Seq Scan on accounts" not in plan, plan


def test_devices_read_in_one_batch_come_back_as_registered_sharing_what_they_share(engine: Engine) -> None:
    """``by_roots`` builds each distinct JSON value of a batch once (``metering._Decoded``): every device still
    comes back with exactly its own resources, base values, houses, accounts and rooms."""
    from decimal import Decimal

    from gateway.domain.metering import DeviceData, DeviceKind, DeviceResource
    from gateway.domain.model import NsiRef
    from gateway.domain.values import FiasHouseGuid

    assert all(r.ok for r in _import(engine, MC, "sever-1.xml"))
    with engine.connect() as connection:
        house, fias = connection.execute(select(houses.c.guid, houses.c.fias_house_guid)).one()
        flats = connection.execute(select(premises.c.guid).order_by(premises.c.id)).scalars().all()
    water = NsiRef("1", Guid("2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a"), "Холодная вода")
    heat = NsiRef("2", Guid("3f7b9b3d-2c1e-4c5f-8f4b-7c8d9e0f1a2b"))
    made = [
        DeviceData(number="ХВ-1", kind=DeviceKind.RESIDENTIAL, resources=(DeviceResource(water, False, (Decimal(7),)),),
                   premises=(Guid(flats[0]),)),
        DeviceData(number="ХВ-2", kind=DeviceKind.RESIDENTIAL, resources=(DeviceResource(water, False, (Decimal(7),)),),
                   premises=(Guid(flats[1]),), accounts=(Guid.new(),)),
        DeviceData(number="Э-1", kind=DeviceKind.COLLECTIVE, remote=True,
                   resources=(DeviceResource(None, True, (Decimal("1.5"), Decimal("2.25"), Decimal(3))),
                              DeviceResource(heat, False, (Decimal("0.001"),))),
                   houses=(FiasHouseGuid(fias),), accounts=(Guid.new(), Guid.new())),
        DeviceData(number="ХВ-3", kind=DeviceKind.RESIDENTIAL, resources=(DeviceResource(water, False, (Decimal(8),)),),
                   premises=(Guid(flats[2]),)),
    ]
    with message_uow(engine, MC, now=NOW) as uow:
        roots = [uow.metering.create(data, house_guid=Guid(house), fias=FiasHouseGuid(fias), next_verification_on=None,
                                     org=MC, at=NOW).root_guid for data in made]
        uow.commit()
    with message_uow(engine, MC, now=NOW) as uow:
        found = uow.metering.by_roots(roots)
    assert [found[root].data for root in roots] == made
    first, second, _, third = (found[root].data for root in roots)
    assert first.resources is second.resources  # the same stored JSON, built once for the batch
    assert first.resources is not third.resources and third.resources[0].base == (Decimal(8),)
    assert first.accounts == () and second.accounts == made[1].accounts


def test_a_devices_root_guid_is_time_ordered_so_one_houses_meters_share_index_pages(engine: Engine) -> None:
    """Month-end indexes lead with the device (``uq_meter_readings_kept``, ``ix_meter_readings_series``,
    ``meter_series``): meters registered together get neighbouring keys, so a month's readings of one house
    touch a few pages of each index, not one page per meter anywhere in a registry of millions."""
    import time
    import uuid
    from decimal import Decimal

    from gateway.domain.metering import DeviceData, DeviceKind, DeviceResource
    from gateway.domain.values import FiasHouseGuid

    assert all(r.ok for r in _import(engine, MC, "sever-1.xml"))
    with engine.connect() as connection:
        house, fias = connection.execute(select(houses.c.guid, houses.c.fias_house_guid)).one()
    roots = []
    with message_uow(engine, MC, now=NOW) as uow:
        for n in range(3):
            data = DeviceData(number=f"ХВ-{n}", kind=DeviceKind.RESIDENTIAL,
                              resources=(DeviceResource(None, False, (Decimal(7),)),), houses=(FiasHouseGuid(fias),))
            device = uow.metering.create(data, house_guid=Guid(house), fias=FiasHouseGuid(fias),
                                         next_verification_on=None, org=MC, at=NOW)
            roots.append(str(device.root_guid))
            time.sleep(0.002)  # the next millisecond: the 48-bit prefix orders them
        uow.commit()
    assert [uuid.UUID(root).version for root in roots] == [7, 7, 7]
    assert roots == sorted(roots)
    with engine.connect() as connection:  # what the indexes order by is the stored text
        stored = connection.execute(text("SELECT root_guid FROM metering_devices ORDER BY root_guid")).scalars().all()
    assert stored == roots
