"""Migration 0012 moves the JSON versions of ``object_versions`` into the typed history tables, losing nothing:
a registry written by the previous layout answers as-of reads of its past after the upgrade."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, MetaData, Table, create_engine, insert, inspect, text

from gateway.config import DatabaseConfig
from gateway.registry import db
from gateway.registry.queries import Reader

ORG = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
HOUSE, FIAS, FLAT = "11111111-1111-4111-8111-111111111111", "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c", \
    "22222222-2222-4222-8222-222222222222"
ACCOUNT, DOCUMENT = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"
M1, M2, M3 = ("aaaaaaaa-0000-4000-8000-00000000000" + str(i) for i in (1, 2, 3))
T1, T2, T3 = (datetime(2026, 3, day, 10, tzinfo=UTC) for day in (1, 2, 3))


@pytest.fixture
def old_registry(database: DatabaseConfig) -> Engine:
    engine = db.make_engine(database.url, schema=database.schema)
    db.upgrade(engine, "0011")
    return engine


def _insert(engine: Engine, table: str, **values: object) -> None:
    """A row as revision 0011's tables take it (reflected, so their own types bind the values)."""
    reflected = Table(table, MetaData(), autoload_with=engine)
    typed = {k: date.fromisoformat(v) if isinstance(v, str) and str(reflected.c[k].type) == "DATE" else v
             for k, v in values.items()}
    with engine.begin() as connection:
        connection.execute(insert(reflected).values(**typed))


def _version(engine: Engine, kind: str, guid: str, version: str, at: datetime, message: str,
             data: dict[str, object]) -> None:
    _insert(engine, "object_versions", version_guid=version, object_type=kind, object_guid=guid, valid_from=at,
            org_guid=ORG, message_guid=message, data=data)


def _seed_old_layout(engine: Engine) -> None:
    """What revision 0011's code wrote: current rows, JSON versions, readings with their messages."""
    _insert(engine, "organisations", guid=ORG, name="УК", role="management_company", ogrn="1027700999017",
            inn="7709990015", kpp=None, created_at=T1)
    for message, at in ((M1, T1), (M2, T2), (M3, T3)):
        _insert(engine, "messages", guid=message, requester_message_guid=message, org_guid=ORG, service="test",
                operation="test", state="done", received_at=at, attempts=1, request=b"<x/>", payload=b"<x/>")
    _insert(engine, "documents", id=1, guid=DOCUMENT, version_guid="d0000000-0000-4000-8000-000000000002",
            version_number=2, kind="contract", org_guid=ORG, number="1", signed_on="2020-01-01",
            effective_on="2020-01-01", ends_on=None, base_code=None, base_guid=None, state="terminated",
            terminated_on="2026-03-02", state_reason="ended", created_at=T1, updated_at=T2)
    mandate = {"object_version_guid": "e0000000-0000-4000-8000-000000000001", "document_guid": DOCUMENT,
               "kind": "contract", "org_guid": ORG, "fias_house_guid": FIAS, "starts_on": "2020-01-01",
               "annulled": False}
    _insert(engine, "mandates", id=1, **{**mandate, "ends_on": "2026-03-02"})
    document = {"guid": DOCUMENT, "kind": "contract", "org_guid": ORG, "number": "1", "signed_on": "2020-01-01",
                "effective_on": "2020-01-01", "ends_on": None, "version_number": 1, "state": "approved",
                "created_at": T1.isoformat(), "updated_at": T1.isoformat()}
    _version(engine, "document:contract", DOCUMENT, "d0000000-0000-4000-8000-000000000001", T1, M1,
             {**document, "houses": [{**mandate, "ends_on": None}]})
    _version(engine, "document:contract", DOCUMENT, "d0000000-0000-4000-8000-000000000002", T2, M2,
             {**document, "version_number": 2, "state": "terminated", "terminated_on": "2026-03-02",
              "houses": [{**mandate, "ends_on": "2026-03-02"}]})
    house = {"fias_house_guid": FIAS, "house_type": "apartment", "cadastral_status": "missing",
             "cadastral_number": None, "state_code": "2", "state_guid": ORG, "used_year": 1970, "floor_count": 9,
             "underground_floor_count": 0, "min_floor_count": None, "oktmo": "45000000000", "olson_tz_code": "1",
             "olson_tz_guid": ORG, "cultural_heritage": False}
    _insert(engine, "houses", id=1, guid=HOUSE, unique_number="u", posted_by=ORG, total_square=Decimal("5500.5"),
            version_guid="b0000000-0000-4000-8000-000000000002", created_at=T1, updated_at=T2,
            **{**house, "cadastral_status": "number", "cadastral_number": "77:01:0001001:1"})
    _version(engine, "house", HOUSE, "b0000000-0000-4000-8000-000000000001", T1, M1,
             {**house, "total_square": "5400.5", "unique_number": "u", "posted_by": ORG})
    _version(engine, "house", HOUSE, "b0000000-0000-4000-8000-000000000002", T2, M2,
             {**house, "total_square": "5500.5", "cadastral_status": "number",
              "cadastral_number": "77:01:0001001:1", "unique_number": "u", "posted_by": ORG})
    flat = {"kind": "residential", "number": "1", "cadastral_status": "missing", "cadastral_number": None,
            "entrance_num": "1", "total_area": "54.3", "gross_area": None, "is_common_property": None,
            "characteristic_code": None, "characteristic_guid": None}
    _insert(engine, "premises", id=1, guid=FLAT, house_guid=HOUSE, version_guid="c0000000-0000-4000-8000-000000000001",
            created_at=T1, updated_at=T1, **flat)
    _version(engine, "premises", FLAT, "c0000000-0000-4000-8000-000000000001", T1, M1,
             {**flat, "house_guid": HOUSE, "unique_number": "p"})
    account = {"account_type": "uo", "account_number": "LS-1", "is_renter": False, "payer_kind": None,
               "living_persons": 2, "closed_on": None}
    _insert(engine, "accounts", id=1, guid=ACCOUNT, unified_number="45AAAAAAAA", posted_by=ORG,
            version_guid="f0000000-0000-4000-8000-000000000001", created_at=T1, updated_at=T1, **account)
    accommodation = {"account_guid": ACCOUNT, "ordinal": 1, "premises_guid": FLAT, "fias_house_guid": None,
                     "living_room_guid": None, "house_guid": HOUSE, "share_percent": None,
                     "service_id": "45AAAAAAAA-01"}
    _insert(engine, "account_accommodations", **accommodation)
    _version(engine, "account", ACCOUNT, "f0000000-0000-4000-8000-000000000001", T1, M1,
             {**account, "unified_number": "45AAAAAAAA", "accommodations": [accommodation]})


def test_an_old_registrys_versions_become_typed_history_read_as_of_any_moment(old_registry: Engine) -> None:
    engine = old_registry
    _seed_old_layout(engine)
    db.upgrade(engine)
    assert "object_versions" not in inspect(engine).get_table_names(schema=None)
    between = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with engine.connect() as connection:
        then, now = Reader(connection, between), Reader(connection)
        assert [h.total_square for h in then.houses()] == [Decimal("5400.5")]
        assert [(h.total_square, h.cadastral_number) for h in now.houses()] == [
            (Decimal("5500.5"), "77:01:0001001:1")]
        assert [(d.state, d.version_number) for d in then.documents()] == [("approved", 1)]
        assert [(m.ends_on is None) for m in then.mandates()] == [True]
        assert [str(m.ends_on) for m in now.mandates()] == ["2026-03-02"]
        assert [a.service_id for a in then.accommodations()] == ["45AAAAAAAA-01"]
        assert [p.number for p in then.premises()] == ["1"]
        assert [o.guid for o in then.organisations()] == [ORG]
        assert not list(Reader(connection, datetime(2026, 2, 1, tzinfo=UTC)).houses())
        kinds = connection.execute(text("SELECT kind, message_guid FROM changesets ORDER BY id")).all()
    assert [k for k, _ in kinds].count("message") == 2  # M3 wrote nothing: no change set of its own
    assert {m for _, m in kinds if m} == {M1, M2}


def test_revision_0011_is_the_layout_before_the_history() -> None:
    """A sanity check of the fixture's own assumption: 0011 is the revision before the history."""
    engine = create_engine("sqlite://")
    db.upgrade(engine, "0011")
    assert db.current_revision(engine) == "0011"
