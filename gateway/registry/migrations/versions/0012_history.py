"""The registry's read side: typed history tables with transaction time, change sets with provenance.

Until now every version was a JSON copy in ``object_versions`` naming a message (so a reconciliation run or an
operator's correction could not be recorded), management mandates kept no versions at all, and as-of reads
rebuilt objects in Python from JSON. Now (``gateway.registry.versions``):

- ``changesets``: one row per committed unit of change, with its provenance (message, reconciliation run,
  operator with a reason), ``started_at`` and ``committed_at``;
- ``<table>_history`` for organisations, documents, mandates, houses, premises, living rooms, accounts and
  their accommodations, metering devices and the premises they serve, voting notices and protocols: all the
  table's columns and the range ``[recorded_from, recorded_to)`` in which the registry held that version;
- ``meter_readings`` and ``owner_decisions`` stay their own history and gain the change sets that recorded
  and superseded each row; ``metering_devices.verified_on`` keeps the last verification's seal date (it was
  only in the version JSON); ``documents.metering_*`` hold a contract's reading window (DateDetails).

Existing history is moved, not lost: each message's versions become one change set (started and committed at
the time its versions were recorded), each JSON version a typed history row ending where the next began;
mandates, accommodations and device links take the ranges of their document's, account's and device's
versions; organisations and anything without a version get one from their creation (a "migration" change
set). ``object_versions`` is dropped once its rows are in history.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: table: (object key, further indexed columns, its columns at this revision: name, type, nullable)
HISTORY: dict[str, tuple[str, tuple[str, ...], list[tuple[str, Any, bool]]]] = {
    "organisations": ("guid", (), [("guid", sa.String(36), False), ("name", sa.String(500), False), ("role", sa.String(32), False), ("ogrn", sa.String(15), False), ("inn", sa.String(12), False), ("kpp", sa.String(9), True), ("created_at", TS, False)]),
    "documents": ("guid", ('org_guid',), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("version_guid", sa.String(36), False), ("version_number", sa.Integer(), False), ("kind", sa.String(16), False), ("org_guid", sa.String(36), False), ("number", sa.String(255), False), ("signed_on", sa.Date(), False), ("effective_on", sa.Date(), False), ("ends_on", sa.Date(), True), ("base_code", sa.String(20), True), ("base_guid", sa.String(36), True), ("state", sa.String(16), False), ("terminated_on", sa.Date(), True), ("state_reason", sa.String(1000), True), ("metering_start_day", sa.Integer(), True), ("metering_start_next_month", sa.Boolean(), True), ("metering_end_day", sa.Integer(), True), ("metering_end_next_month", sa.Boolean(), True), ("created_at", TS, False), ("updated_at", TS, False)]),
    "mandates": ("document_guid", ('fias_house_guid',), [("id", sa.Integer(), False), ("object_version_guid", sa.String(36), False), ("document_guid", sa.String(36), False), ("kind", sa.String(16), False), ("org_guid", sa.String(36), False), ("fias_house_guid", sa.String(36), False), ("starts_on", sa.Date(), False), ("ends_on", sa.Date(), True), ("annulled", sa.Boolean(), False)]),
    "houses": ("guid", ('fias_house_guid',), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("fias_house_guid", sa.String(36), False), ("unique_number", sa.String(31), True), ("house_type", sa.String(16), False), ("cadastral_status", sa.String(16), False), ("cadastral_number", sa.String(255), True), ("total_square", sa.Numeric(25, 4), False), ("state_code", sa.String(20), False), ("state_guid", sa.String(36), False), ("used_year", sa.Integer(), False), ("floor_count", sa.Integer(), False), ("underground_floor_count", sa.Integer(), False), ("min_floor_count", sa.Integer(), True), ("oktmo", sa.String(11), True), ("olson_tz_code", sa.String(20), False), ("olson_tz_guid", sa.String(36), False), ("cultural_heritage", sa.Boolean(), False), ("posted_by", sa.String(36), False), ("version_guid", sa.String(36), False), ("created_at", TS, False), ("updated_at", TS, False)]),
    "premises": ("guid", ('house_guid',), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("house_guid", sa.String(36), False), ("kind", sa.String(16), False), ("number", sa.String(255), False), ("cadastral_status", sa.String(16), False), ("cadastral_number", sa.String(255), True), ("entrance_num", sa.String(255), True), ("total_area", sa.Numeric(25, 4), True), ("gross_area", sa.Numeric(25, 4), True), ("is_common_property", sa.Boolean(), True), ("characteristic_code", sa.String(20), True), ("characteristic_guid", sa.String(36), True), ("version_guid", sa.String(36), False), ("created_at", TS, False), ("updated_at", TS, False)]),
    "living_rooms": ("guid", ('house_guid',), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("premises_guid", sa.String(36), False), ("house_guid", sa.String(36), False), ("number", sa.String(255), False), ("cadastral_status", sa.String(16), False), ("cadastral_number", sa.String(255), True), ("square", sa.Numeric(25, 4), True), ("version_guid", sa.String(36), False), ("created_at", TS, False), ("updated_at", TS, False)]),
    "accounts": ("guid", (), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("unified_number", sa.String(10), True), ("account_type", sa.String(16), False), ("account_number", sa.String(30), True), ("posted_by", sa.String(36), False), ("payer_kind", sa.String(8), True), ("payer_surname", sa.String(255), True), ("payer_first_name", sa.String(255), True), ("payer_patronymic", sa.String(255), True), ("payer_snils", sa.String(11), True), ("payer_document_type", sa.String(20), True), ("payer_document_series", sa.String(45), True), ("payer_document_number", sa.String(45), True), ("payer_org_version_guid", sa.String(36), True), ("is_renter", sa.Boolean(), False), ("living_persons", sa.Integer(), True), ("total_square", sa.Numeric(25, 4), True), ("residential_square", sa.Numeric(25, 4), True), ("heated_area", sa.Numeric(25, 4), True), ("closed_reason_code", sa.String(20), True), ("closed_reason_guid", sa.String(36), True), ("closed_on", sa.Date(), True), ("closed_description", sa.String(250), True), ("version_guid", sa.String(36), False), ("created_at", TS, False), ("updated_at", TS, False)]),
    "account_accommodations": ("account_guid", ('house_guid',), [("account_guid", sa.String(36), False), ("ordinal", sa.Integer(), False), ("premises_guid", sa.String(36), True), ("fias_house_guid", sa.String(36), True), ("living_room_guid", sa.String(36), True), ("house_guid", sa.String(36), False), ("share_percent", sa.Numeric(5, 2), True), ("service_id", sa.String(13), False)]),
    "metering_devices": ("root_guid", ('house_guid',), [("id", sa.Integer(), False), ("root_guid", sa.String(36), False), ("version_guid", sa.String(36), False), ("version_number", sa.Integer(), False), ("gis_number", sa.String(40), True), ("house_guid", sa.String(36), False), ("fias_house_guid", sa.String(36), False), ("posted_by", sa.String(36), False), ("kind", sa.String(32), False), ("number", sa.String(50), False), ("model", sa.String(100), True), ("stamp", sa.String(100), True), ("installed_on", sa.Date(), True), ("commissioned_on", sa.Date(), True), ("first_verified_on", sa.Date(), True), ("interval_code", sa.String(20), True), ("interval_guid", sa.String(36), True), ("verified_on", sa.Date(), True), ("next_verification_on", sa.Date(), True), ("remote", sa.Boolean(), False), ("temperature_sensor", sa.Boolean(), False), ("pressure_sensor", sa.Boolean(), False), ("resources", sa.JSON(), False), ("accounts", sa.JSON(), False), ("houses", sa.JSON(), False), ("rooms", sa.JSON(), True), ("archived_on", sa.Date(), True), ("archive_reason_code", sa.String(20), True), ("archive_reason_guid", sa.String(36), True), ("replaced_by", sa.String(36), True), ("created_at", TS, False), ("updated_at", TS, False)]),
    "device_premises": ("device_root_guid", (), [("device_root_guid", sa.String(36), False), ("premises_guid", sa.String(36), False)]),
    "votings": ("guid", ('house_guid',), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("version_guid", sa.String(36), False), ("house_guid", sa.String(36), False), ("fias_house_guid", sa.String(36), False), ("posted_by", sa.String(36), False), ("form", sa.String(16), False), ("starts_at", TS, True), ("ends_at", TS, True), ("data", sa.JSON(), False), ("created_at", TS, False), ("updated_at", TS, False)]),
    "protocols": ("guid", ('house_guid',), [("id", sa.Integer(), False), ("guid", sa.String(36), False), ("version_guid", sa.String(36), False), ("version_number", sa.Integer(), False), ("voting_guid", sa.String(36), False), ("house_guid", sa.String(36), False), ("fias_house_guid", sa.String(36), False), ("posted_by", sa.String(36), False), ("number", sa.String(255), True), ("protocol_date", sa.Date(), False), ("data", sa.JSON(), False), ("total_votes", sa.Numeric(25, 4), False), ("cast_votes", sa.Numeric(25, 4), False), ("competent", sa.Boolean(), False), ("results", sa.JSON(), False), ("flags", sa.String(1000), False), ("created_at", TS, False), ("updated_at", TS, False)]),
}

#: object_versions.object_type → the table its versions belong to
_KIND_TABLE = {"house": "houses", "premises": "premises", "living_room": "living_rooms", "account": "accounts",
               "metering_device": "metering_devices", "voting_protocol": "protocols", "voting_notice": "votings"}


def _history_table(name: str) -> sa.TableClause:
    key, _also, columns = HISTORY[name]
    return sa.table(f"{name}_history", *(sa.column(c, t) for c, t, _ in columns),
                    sa.column("recorded_from", TS), sa.column("recorded_to", TS),
                    sa.column("changeset_id", SERIAL), sa.column("superseded_in", SERIAL))


def _create_history(name: str) -> None:
    key, also, columns = HISTORY[name]
    table = f"{name}_history"
    op.create_table(
        table,
        sa.Column("hid", SERIAL, primary_key=True, autoincrement=True),
        *(sa.Column(c, t, nullable=n) for c, t, n in columns),
        sa.Column("recorded_from", TS, nullable=False),
        sa.Column("recorded_to", TS, nullable=True),
        sa.Column("changeset_id", SERIAL, nullable=False),
        sa.Column("superseded_in", SERIAL, nullable=True),
        sa.PrimaryKeyConstraint("hid", name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_{key}", table, [key, "recorded_from"])
    for column in also:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    with op.batch_alter_table("metering_devices") as batch:
        batch.add_column(sa.Column("verified_on", sa.Date(), nullable=True))
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("metering_start_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("metering_start_next_month", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("metering_end_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("metering_end_next_month", sa.Boolean(), nullable=True))
    for table in ("meter_readings", "owner_decisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("changeset_id", SERIAL, nullable=True))
            batch.add_column(sa.Column("superseded_in", SERIAL, nullable=True))
    op.create_table(
        "changesets",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("org_guid", sa.String(36), nullable=True),
        sa.Column("message_guid", sa.String(36), nullable=True),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("committed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["org_guid"], ["organisations.guid"], name="fk_changesets_org_guid_organisations"),
        sa.ForeignKeyConstraint(["message_guid"], ["messages.guid"], name="fk_changesets_message_guid_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_changesets"),
    )
    op.create_index("ix_changesets_committed_at", "changesets", ["committed_at"])
    for name in HISTORY:
        _create_history(name)
    _move_history(op.get_bind())
    for table in ("meter_readings", "owner_decisions"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("changeset_id", existing_type=SERIAL, nullable=False)
    op.drop_index("ix_object_versions_object", "object_versions")
    op.drop_table("object_versions")


def downgrade() -> None:
    raise NotImplementedError("the registry's history cannot be folded back into object_versions: restore the "
                              "backup taken before `gateway db upgrade` instead")


# -- moving the history ------------------------------------------------------------------------------------


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _typed(value: Any, kind: Any) -> Any:
    """A JSON value (text for dates, moments and decimals) as the column's type wants it."""
    if value is None:
        return None
    if isinstance(kind, sa.JSON):
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(kind, sa.DateTime):
        return _utc(value)
    if isinstance(kind, sa.Date):
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if isinstance(kind, sa.Numeric):
        return Decimal(str(value))
    if isinstance(kind, sa.Boolean):
        return bool(value)
    if isinstance(kind, sa.Integer) and not isinstance(value, bool):
        return int(value)
    return value


def _row(name: str, base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """A history row of ``name``: the current row's values, overridden by what a version recorded."""
    columns = HISTORY[name][2]
    merged = {c: base.get(c) for c, _, _ in columns}
    for c, kind, _ in columns:
        if c in overlay:
            merged[c] = _typed(overlay[c], kind)
        elif merged[c] is not None:
            merged[c] = _typed(merged[c], kind)
    return merged


class _Writer:
    def __init__(self, bind: sa.engine.Connection) -> None:
        self.bind = bind
        self.pending: dict[str, list[dict[str, Any]]] = {name: [] for name in HISTORY}
        changesets = sa.table("changesets", sa.column("id", SERIAL), sa.column("kind", sa.String),
                              sa.column("org_guid", sa.String), sa.column("message_guid", sa.String),
                              sa.column("reason", sa.String), sa.column("started_at", TS),
                              sa.column("committed_at", TS))
        self.changesets = changesets

    def changeset(self, *, kind: str, at: datetime, org: str | None = None, message: str | None = None,
                  reason: str | None = None) -> int:
        return int(self.bind.execute(sa.insert(self.changesets).values(
            kind=kind, org_guid=org, message_guid=message, reason=reason, started_at=at, committed_at=at)
            .returning(self.changesets.c.id)).scalar_one())

    def add(self, name: str, row: dict[str, Any], start: datetime, end: datetime | None, opened: int,
            closed: int | None) -> None:
        self.pending[name].append({**row, "recorded_from": start, "recorded_to": end, "changeset_id": opened,
                                   "superseded_in": closed})
        if len(self.pending[name]) >= 1000:
            self.flush(name)

    def flush(self, name: str | None = None) -> None:
        for table in [name] if name else list(self.pending):
            if self.pending[table]:
                self.bind.execute(sa.insert(_history_table(table)), self.pending[table])
                self.pending[table] = []


def _versions(bind: sa.engine.Connection, table: str, kinds: str
              ) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """One table's object_versions grouped by object, oldest first, each with the object's current row
    (streamed: one query, joined by the database)."""
    key = HISTORY[table][0]
    query = sa.text(
        "SELECT ov.version_guid AS ov_version, ov.object_guid AS ov_object, ov.valid_from AS ov_from, "  # noqa: S608
        f"ov.message_guid AS ov_message, ov.data AS ov_data, t.* FROM object_versions AS ov "
        f"LEFT JOIN {table} AS t ON t.{key} = ov.object_guid WHERE ov.object_type LIKE :kinds "
        "ORDER BY ov.object_guid, ov.valid_from, ov.version_guid")
    group: list[dict[str, Any]] = []
    base: dict[str, Any] = {}
    for row in bind.execute(query.execution_options(yield_per=1000), {"kinds": kinds}).mappings():
        entry = {"version_guid": row["ov_version"], "object_guid": row["ov_object"],
                 "valid_from": _utc(row["ov_from"]), "message_guid": row["ov_message"],
                 "data": json.loads(row["ov_data"]) if isinstance(row["ov_data"], str) else row["ov_data"]}
        if group and group[0]["object_guid"] != entry["object_guid"]:
            yield group[0]["object_guid"], base, group
            group = []
        if not group:
            base = {k: v for k, v in row.items() if not k.startswith("ov_")}
        group.append(entry)
    if group:
        yield group[0]["object_guid"], base, group


def _move_history(bind: sa.engine.Connection) -> None:
    writer = _Writer(bind)
    by_message: dict[str, int] = {}
    messages = sa.text("SELECT message_guid, org_guid, MIN(at) AS at FROM ("
                       " SELECT message_guid, org_guid, valid_from AS at FROM object_versions"
                       " UNION ALL SELECT message_guid, posted_by, recorded_at FROM meter_readings"
                       " UNION ALL SELECT message_guid, posted_by, recorded_at FROM owner_decisions"
                       ") AS recorded GROUP BY message_guid, org_guid ORDER BY MIN(at)")
    for row in bind.execute(messages).mappings():
        if row["message_guid"] not in by_message:
            by_message[row["message_guid"]] = writer.changeset(kind="message", at=_utc(row["at"]),
                                                               org=row["org_guid"], message=row["message_guid"])
    mandate_ids = {r.object_version_guid: r.id for r in bind.execute(sa.text(
        "SELECT object_version_guid, id FROM mandates"))}
    tables = [(t, k) for k, t in _KIND_TABLE.items()] + [("documents", "document:%")]
    for table, kinds in tables:
        key = HISTORY[table][0]
        for guid, base, versions in _versions(bind, table, kinds):
            for index, version in enumerate(versions):
                later = versions[index + 1] if index + 1 < len(versions) else None
                start, end = version["valid_from"], later["valid_from"] if later else None
                opened = by_message[version["message_guid"]]
                closed = by_message[later["message_guid"]] if later else None
                data = version["data"]
                overlay = {**data, "version_guid": version["version_guid"], "updated_at": start}
                writer.add(table, _row(table, {**base, key: guid}, overlay), start, end, opened, closed)
                for child, parent_key, items in _children(table, data, mandate_ids):
                    for item in items:
                        writer.add(child, _row(child, {parent_key: guid}, item), start, end, opened, closed)
    writer.flush()
    _fill_unversioned(bind, writer)
    _link_append_only(bind, by_message)


def _children(table: str, data: dict[str, Any],
              mandate_ids: dict[str, int]) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """The child rows a version's JSON carried: a document's houses, an account's accommodations, a device's
    premises."""
    if table == "documents":
        yield "mandates", "document_guid", [{**h, "id": mandate_ids.get(h.get("object_version_guid"))}
                                            for h in data.get("houses", [])]
    elif table == "accounts":
        yield "account_accommodations", "account_guid", list(data.get("accommodations", []))
    elif table == "metering_devices":
        yield "device_premises", "device_root_guid", [{"premises_guid": p} for p in data.get("premises", [])]


def _fill_unversioned(bind: sa.engine.Connection, writer: _Writer) -> None:
    """Current rows with no open history row (organisations, and anything an older version left out) get one
    from their creation, in a change set of the migration's own."""
    changeset: int | None = None
    for name, (key, _, columns) in HISTORY.items():
        names = [c for c, _, _ in columns]
        listed = ", ".join(names)
        since = "created_at" if "created_at" in names else None
        missing = bind.execute(sa.text(
            f"SELECT {listed} FROM {name} AS t WHERE NOT EXISTS (SELECT 1 FROM {name}_history AS h "  # noqa: S608
            f"WHERE h.{key} = t.{key} AND h.recorded_to IS NULL)")).mappings().all()
        for row in missing:
            at = _utc(row[since]) if since and row[since] is not None else datetime.now(UTC)
            if changeset is None:
                changeset = writer.changeset(kind="migration", at=datetime(1970, 1, 1, tzinfo=UTC),
                                             reason="history of objects recorded before versions were kept")
            writer.add(name, _row(name, dict(row), {}), at, None, changeset, None)
    writer.flush()


def _link_append_only(bind: sa.engine.Connection, by_message: dict[str, int]) -> None:
    """Readings and owners' decisions: the change set of the message that recorded each row, and of the one
    that superseded it."""
    for message, changeset in by_message.items():
        for table in ("meter_readings", "owner_decisions"):
            bind.execute(sa.text(f"UPDATE {table} SET changeset_id = :cs WHERE message_guid = :m"),  # noqa: S608
                         {"cs": changeset, "m": message})
    bind.execute(sa.text(
        "UPDATE meter_readings SET superseded_in = (SELECT n.changeset_id FROM meter_readings AS n "
        "WHERE n.guid = meter_readings.superseded_by) WHERE superseded_by IS NOT NULL"))
    bind.execute(sa.text(
        "UPDATE owner_decisions SET superseded_in = (SELECT MIN(n.changeset_id) FROM owner_decisions AS n "
        "WHERE n.protocol_guid = owner_decisions.protocol_guid AND n.question = owner_decisions.question "
        "AND n.owner = owner_decisions.owner AND n.premises_guid = owner_decisions.premises_guid "
        "AND n.recorded_at = owner_decisions.superseded_at) WHERE superseded_at IS NOT NULL"))
