"""Table definitions. Every schema change also gets an alembic migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the registry stores only timezone-aware moments")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

GUID = String(36)
TS = UtcDateTime()
#: history rows and change sets grow without bound: 64-bit keys on PostgreSQL (SQLite's rowid is 64-bit already)
SERIAL = BigInteger().with_variant(Integer, "sqlite")

organisations = Table(
    "organisations",
    metadata,
    Column("guid", GUID, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("role", String(32), nullable=False),
    Column("ogrn", String(15), nullable=False, unique=True),
    Column("inn", String(12), nullable=False),
    Column("kpp", String(9)),
    Column("created_at", TS, nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("fingerprint", String(64), primary_key=True),  # SHA-256 of the DER, hex
    Column("org_guid", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("subject", String(1000), nullable=False),
    Column("issuer", String(1000), nullable=False),
    Column("serial", String(64), nullable=False),
    Column("not_before", TS, nullable=False),
    Column("not_after", TS, nullable=False),
    Column("pem", Text, nullable=False),
    Column("registered_at", TS, nullable=False),
    Column("revoked_at", TS),
)

houses = Table(
    "houses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("fias_house_guid", GUID, nullable=False, unique=True),
    Column("unique_number", String(31), unique=True),
    Column("house_type", String(16), nullable=False),
    Column("cadastral_status", String(16), nullable=False),
    Column("cadastral_number", String(255)),
    Column("total_square", Numeric(25, 4), nullable=False),
    Column("state_code", String(20), nullable=False),
    Column("state_guid", GUID, nullable=False),
    Column("used_year", Integer, nullable=False),
    Column("floor_count", Integer, nullable=False),
    Column("underground_floor_count", Integer, nullable=False),
    Column("min_floor_count", Integer),
    Column("oktmo", String(11)),
    Column("olson_tz_code", String(20), nullable=False),
    Column("olson_tz_guid", GUID, nullable=False),
    Column("cultural_heritage", Boolean, nullable=False),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("version_guid", GUID, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

premises = Table(
    "premises",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("house_guid", GUID, ForeignKey("houses.guid"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("number", String(255), nullable=False),
    # the premises' unique number is derived: the house's unique number + this row's id (premises-base)
    Column("cadastral_status", String(16), nullable=False),
    Column("cadastral_number", String(255)),
    Column("entrance_num", String(255)),
    Column("total_area", Numeric(25, 4)),
    Column("gross_area", Numeric(25, 4)),
    Column("is_common_property", Boolean),
    Column("characteristic_code", String(20)),  # NSI 30
    Column("characteristic_guid", GUID),
    Column("version_guid", GUID, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("house_guid", "kind", "number"),
    # reconciliation looks premises up by number (a candidate already carried elsewhere, duplicates)
    Index("ix_premises_cadastral_number", "cadastral_number"),
)

messages = Table(
    "messages",
    metadata,
    Column("guid", GUID, primary_key=True),  # the gateway's MessageGUID, given in the Ack
    Column("requester_message_guid", GUID, nullable=False),
    Column("org_guid", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("received_at", TS, nullable=False),
    Column("processed_at", TS),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", TS),
    Column("claim_token", GUID),  # who holds the lease; completing needs the same token
    Column("last_error", Text),
    Column("request", LargeBinary, nullable=False),  # the SOAP envelope, byte-exact as received
    # the signed element, canonical, as verified — for messages accepted before revision 0019; since then empty:
    # the worker takes the element from ``request``, and the digest of its canonical form is ``payload_sha256``
    Column("payload", LargeBinary, nullable=False),
    Column("payload_sha256", String(64)),
    Column("result", LargeBinary),  # the getStateResult element the worker produced
    # IsOperatorSignature: the organisation whose certificate signed (org_guid's data, signed by it) and the
    # delegated power it signed under; NULL when the organisation signed itself
    Column("signed_by", GUID),
    Column("power_guid", GUID, index=True),
    UniqueConstraint("org_guid", "requester_message_guid"),
    Index("ix_messages_state_received", "state", "received_at"),
)

signed_payloads = Table(
    "signed_payloads",
    metadata,
    # every signed request accepted, by the digest of its canonical ds:SignedInfo: a signed body seen again under
    # another MessageGUID is a replay. Kept until the signing certificate expires (after that the certificate
    # itself is refused), then purged by ``queue.purge_replay_keys``.
    Column("replay_key", String(64), primary_key=True),
    Column("message_guid", GUID, ForeignKey("messages.guid"), nullable=False),
    Column("org_guid", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("accepted_at", TS, nullable=False),
    Column("keep_until", TS, nullable=False, index=True),
)

archive = Table(
    "archive",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("message_guid", GUID, ForeignKey("messages.guid"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # "request" (the envelope as received) or "result" (signed answer)
    Column("sha256", String(64), nullable=False),  # of the archived bytes, kept in messages.request / .result
    Column("prev", String(64), nullable=False),  # the previous entry's chain value
    Column("chain", String(64), nullable=False),  # sha256(prev | sha256 | kind | message_guid | recorded_at)
    Column("recorded_at", TS, nullable=False),
    # a request signed under a delegated power: who signed and under which power (part of the chain value)
    Column("signed_by", GUID),
    Column("power_guid", GUID),
    UniqueConstraint("message_guid", "kind"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("unified_number", String(10), unique=True),  # ELS, assigned from id after insert
    Column("account_type", String(16), nullable=False),
    Column("account_number", String(30)),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("payer_kind", String(8)),  # "person" | "org" | NULL
    Column("payer_surname", String(255)),
    Column("payer_first_name", String(255)),
    Column("payer_patronymic", String(255)),
    Column("payer_snils", String(11)),
    Column("payer_document_type", String(20)),
    Column("payer_document_series", String(45)),
    Column("payer_document_number", String(45)),
    Column("payer_org_version_guid", GUID),
    Column("is_renter", Boolean, nullable=False),
    Column("living_persons", Integer),
    Column("total_square", Numeric(25, 4)),
    Column("residential_square", Numeric(25, 4)),
    Column("heated_area", Numeric(25, 4)),
    Column("closed_reason_code", String(20)),
    Column("closed_reason_guid", GUID),
    Column("closed_on", Date),
    Column("closed_description", String(250)),
    Column("version_guid", GUID, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    # an organisation's open accounts have distinct numbers (concurrent messages included)
    Index("uq_accounts_open_number", "posted_by", "account_number", unique=True,
          sqlite_where=text("closed_on IS NULL AND account_number IS NOT NULL"),
          postgresql_where=text("closed_on IS NULL AND account_number IS NOT NULL")),
)

account_accommodations = Table(
    "account_accommodations",
    metadata,
    Column("account_guid", GUID, ForeignKey("accounts.guid"), primary_key=True),
    Column("ordinal", Integer, primary_key=True),  # 1..99, the ServiceID suffix; stable across versions
    Column("premises_guid", GUID, ForeignKey("premises.guid")),
    Column("fias_house_guid", GUID),
    Column("living_room_guid", GUID),  # a room of a communal flat (living_rooms.guid)
    Column("house_guid", GUID, ForeignKey("houses.guid"), nullable=False, index=True),
    Column("share_percent", Numeric(5, 2)),
    Column("service_id", String(13), nullable=False, unique=True),
)

nsi_items = Table(
    "nsi_items",
    metadata,
    # reference directories (NSI) loaded from data files: registry number, code, GUID, name
    Column("registry", Integer, primary_key=True),
    Column("code", String(20), primary_key=True),
    Column("guid", GUID, nullable=False),
    Column("name", String(1000), nullable=False),
    Column("value", String(100)),  # a number some directories carry (NSI 16: the interval in years)
    Column("loaded_at", TS, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    # management contracts, charters and resource supply contracts: what gives an organisation its houses
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("version_guid", GUID, nullable=False, unique=True),
    Column("version_number", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("org_guid", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("number", String(255), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("base_code", String(20)),
    Column("base_guid", GUID),
    Column("state", String(16), nullable=False),
    Column("terminated_on", Date),
    Column("state_reason", String(1000)),
    # DateDetails/PeriodMetering: the window in which readings are transmitted, a day of the month (31 = the
    # last day, LastDay) and whether it lies in the month after the one metered (IsNextMonth)
    Column("metering_start_day", Integer),
    Column("metering_start_next_month", Boolean),
    Column("metering_end_day", Integer),
    Column("metering_end_next_month", Boolean),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

mandates = Table(
    "mandates",
    metadata,
    # one house of one document (ContractObject), with the period it is managed or supplied
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("object_version_guid", GUID, nullable=False, unique=True),  # ContractObjectVersionGUID
    Column("document_guid", GUID, ForeignKey("documents.guid"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("org_guid", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("fias_house_guid", GUID, nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("annulled", Boolean, nullable=False),
)

metering_devices = Table(
    "metering_devices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("root_guid", GUID, nullable=False, unique=True),
    Column("version_guid", GUID, nullable=False, unique=True),
    Column("version_number", Integer, nullable=False),
    Column("gis_number", String(40), unique=True),  # MeteringDeviceGISGKHNumber, from id after insert
    Column("house_guid", GUID, ForeignKey("houses.guid"), nullable=False, index=True),
    Column("fias_house_guid", GUID, nullable=False),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("number", String(50), nullable=False),
    Column("model", String(100)),
    Column("stamp", String(100)),
    Column("installed_on", Date),
    Column("commissioned_on", Date),
    Column("first_verified_on", Date),
    Column("interval_code", String(20)),
    Column("interval_guid", GUID),
    Column("verified_on", Date),  # the seal date of the last verification (VerificationValue)
    Column("next_verification_on", Date),
    Column("remote", Boolean, nullable=False),
    Column("temperature_sensor", Boolean, nullable=False),
    Column("pressure_sensor", Boolean, nullable=False),
    Column("resources", JSON, nullable=False),  # [{code, guid, name, electric, base: [..]}]
    Column("accounts", JSON, nullable=False),  # AccountGUIDs the device is linked to
    Column("houses", JSON, nullable=False),  # FIAS GUIDs of a common-house or collective device
    Column("rooms", JSON),  # LivingRoomGUIDs of a room device
    Column("archived_on", Date),
    Column("archive_reason_code", String(20)),
    Column("archive_reason_guid", GUID),
    Column("replaced_by", GUID),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

device_premises = Table(
    "device_premises",
    metadata,
    Column("device_root_guid", GUID, ForeignKey("metering_devices.root_guid"), primary_key=True),
    Column("premises_guid", GUID, ForeignKey("premises.guid"), primary_key=True, index=True),
)

meter_readings = Table(
    "meter_readings",
    metadata,
    # append-only: a resubmission for the same period supersedes the kept row, which stays as a version.
    # On PostgreSQL partitioned by month of ``period`` (migration 0018, gateway.registry.partitions), where the
    # primary key is (id, period) and the GUID unique with its period: the partition key must be in both
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("device_root_guid", GUID, ForeignKey("metering_devices.root_guid"), nullable=False),
    Column("resource_code", String(20), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("period", String(7), nullable=False),
    Column("reading_date", Date, nullable=False),
    Column("v1", Numeric(22, 7), nullable=False),
    Column("v2", Numeric(22, 7)),
    Column("v3", Numeric(22, 7)),
    Column("flags", String(100), nullable=False),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("message_guid", GUID, ForeignKey("messages.guid"), nullable=False),
    Column("transport_guid", GUID, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("superseded_at", TS),
    Column("superseded_by", GUID),
    Column("changeset_id", SERIAL, nullable=False),  # provenance: the change set that recorded the row
    Column("superseded_in", SERIAL),  # the change set that superseded it
    Index("ix_meter_readings_series", "device_root_guid", "resource_code", "kind", "reading_date"),
    # one kept reading per device, resource, kind and period: two concurrent writers cannot both keep one
    Index("uq_meter_readings_kept", "device_root_guid", "resource_code", "kind", "period", unique=True,
          sqlite_where=text("superseded_at IS NULL"), postgresql_where=text("superseded_at IS NULL")),
    postgresql_partition_by="RANGE (period)",
)

#: one row per series (device, resource, kind) with kept readings: the first period it has one for — a bound,
#: never later than the truth (a reading superseded without a successor may leave it earlier). The latest
#: readings of a series are read from the newest partition back to it: a series absent here has none, and is
#: not looked for in any partition (migration 0020; kept by ``MeteringRepository.save_readings``, rebuilt by
#: ``gateway.registry.metering.rebuild_series`` after readings are loaded by other means)
meter_series = Table(
    "meter_series",
    metadata,
    Column("device_root_guid", GUID, ForeignKey("metering_devices.root_guid"), primary_key=True),
    Column("resource_code", String(20), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("first_period", String(7), nullable=False),
)

protocols = Table(
    "protocols",
    metadata,
    # owners' general meeting protocols; the tally is the registry's, recomputed on every new decision
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("version_guid", GUID, nullable=False, unique=True),
    Column("version_number", Integer, nullable=False),
    Column("voting_guid", GUID, nullable=False, unique=True),
    Column("house_guid", GUID, ForeignKey("houses.guid"), nullable=False, index=True),
    Column("fias_house_guid", GUID, nullable=False),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("number", String(255)),
    Column("protocol_date", Date, nullable=False),
    Column("data", JSON, nullable=False),  # the protocol as posted: form, items with declared counts, attachments
    Column("total_votes", Numeric(25, 4), nullable=False),
    Column("cast_votes", Numeric(25, 4), nullable=False),
    Column("competent", Boolean, nullable=False),
    Column("results", JSON, nullable=False),  # per item: majority, computed and declared outcome
    Column("flags", String(1000), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

owner_decisions = Table(
    "owner_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("protocol_guid", GUID, ForeignKey("protocols.guid"), nullable=False, index=True),
    Column("question", Integer, nullable=False),
    Column("owner", String(255), nullable=False),
    Column("premises_guid", GUID, ForeignKey("premises.guid"), nullable=False),
    Column("votes", Numeric(25, 4), nullable=False),
    Column("choice", String(8), nullable=False),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("message_guid", GUID, ForeignKey("messages.guid"), nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("superseded_at", TS),
    Column("changeset_id", SERIAL, nullable=False),
    Column("superseded_in", SERIAL),
    Index("uq_owner_decisions_kept", "protocol_guid", "question", "owner", "premises_guid", unique=True,
          sqlite_where=text("superseded_at IS NULL"), postgresql_where=text("superseded_at IS NULL")),
)

votings = Table(
    "votings",
    metadata,
    # notices of owners' meetings and electronic votes (importVotingMessage); a protocol may follow
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),  # VotingGUID
    Column("version_guid", GUID, nullable=False, unique=True),
    Column("house_guid", GUID, ForeignKey("houses.guid"), nullable=False, index=True),
    Column("fias_house_guid", GUID, nullable=False),
    Column("posted_by", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("form", String(16), nullable=False),
    Column("starts_at", TS),
    Column("ends_at", TS),
    Column("data", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

living_rooms = Table(
    "living_rooms",
    metadata,
    # rooms of a communal flat (LivingRoomToCreate): a room has its own cadastral number, accounts and meters
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("premises_guid", GUID, ForeignKey("premises.guid"), nullable=False),
    Column("house_guid", GUID, ForeignKey("houses.guid"), nullable=False, index=True),
    Column("number", String(255), nullable=False),
    Column("cadastral_status", String(16), nullable=False),
    Column("cadastral_number", String(255)),
    Column("square", Numeric(25, 4)),
    Column("version_guid", GUID, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("premises_guid", "number"),
)


# -- administrative offences (the rap service) ----------------------------------------------------------------

decrees = Table(
    "decrees",
    metadata,
    # an inspectorate's penalty decree on an organisation (rap:DecreeInfoType); versioned like every object
    Column("guid", GUID, primary_key=True),
    Column("registry_number", String(32), nullable=False, unique=True),
    Column("regulator_guid", GUID, ForeignKey("organisations.guid"), nullable=False),
    Column("offender_guid", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # Published | Cancelled | Annulled
    Column("proceeding_date", Date, nullable=False),  # the date of bringing to liability
    Column("executed", Boolean),
    Column("fine_paid_on", Date),
    Column("violation_codes", JSON, nullable=False),  # NSI 229 codes, for the compliance reports
    Column("data", JSON, nullable=False),  # the decree as posted (gateway.soap.rap_xml)
    Column("change_reason", JSON),
    Column("cancel_reason", JSON),
    Column("version_guid", GUID, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

jurisdictions = Table(
    "jurisdictions",
    metadata,
    # the regions (OKTMO prefixes) a regulator oversees: what its decrees may concern and its reports may show
    Column("org_guid", GUID, ForeignKey("organisations.guid"), primary_key=True),
    Column("oktmo_prefix", String(11), primary_key=True),
    Column("set_at", TS, nullable=False),
)


# -- history: the registry's transaction time (gateway.registry.versions writes and reads these) -----------

changesets = Table(
    "changesets",
    metadata,
    # one committed unit of change and where it came from: a message, a reconciliation run or an operator
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # message | reconciliation | operator | migration
    Column("org_guid", GUID, ForeignKey("organisations.guid")),  # whose data (a message's sender)
    Column("message_guid", GUID, ForeignKey("messages.guid")),
    Column("run_id", String(36)),  # a reconciliation run
    Column("actor", String(255)),  # an operator: OS or console user
    Column("role", String(32)),
    Column("reason", String(1000)),
    # a message signed by another organisation under a delegated power: the data are org_guid's, signed by
    # signed_by under power_guid (IsOperatorSignature)
    Column("signed_by", GUID),
    Column("power_guid", GUID, index=True),
    Column("started_at", TS, nullable=False),  # stamped on its history rows as recorded_from
    Column("committed_at", TS, index=True),  # set under the commit lock just before COMMIT
)

#: (current table, its object key, further columns to index history by) — every versioned kind
HISTORY_OF: dict[str, tuple[str, tuple[str, ...]]] = {
    "organisations": ("guid", ()),
    "documents": ("guid", ("org_guid",)),
    "mandates": ("document_guid", ("fias_house_guid",)),
    "houses": ("guid", ("fias_house_guid",)),
    "premises": ("guid", ("house_guid",)),
    "living_rooms": ("guid", ("house_guid",)),
    "accounts": ("guid", ()),
    "account_accommodations": ("account_guid", ("house_guid",)),
    "metering_devices": ("root_guid", ("house_guid",)),
    "device_premises": ("device_root_guid", ()),
    "votings": ("guid", ("house_guid",)),
    "protocols": ("guid", ("house_guid",)),
    "decrees": ("guid", ("offender_guid",)),
}


def _history_table(current: Table, key: str, also: tuple[str, ...]) -> Table:
    """``<table>_history``: every column of the current table (its ``id`` included, no longer unique) and the
    transaction-time range [recorded_from, recorded_to) with the change sets that opened and closed it."""
    name = f"{current.name}_history"
    columns = [Column(c.name, c.type, nullable=c.nullable and not c.primary_key) for c in current.columns]
    return Table(
        name,
        metadata,
        Column("hid", SERIAL, primary_key=True, autoincrement=True),
        *columns,
        Column("recorded_from", TS, nullable=False),
        Column("recorded_to", TS),  # NULL: the version the registry holds now
        Column("changeset_id", SERIAL, nullable=False),
        Column("superseded_in", SERIAL),
        Index(f"ix_{name}_{key}", key, "recorded_from"),
        *(Index(f"ix_{name}_{column}", column) for column in also),
    )


HISTORY: dict[str, Table] = {
    table: _history_table(metadata.tables[table], key, also) for table, (key, also) in HISTORY_OF.items()
}


# -- reconciliation (gateway.sync) ---------------------------------------------------------------------------

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    # one run of one job: when, against which source (and its version), what it found, how it ended
    Column("id", GUID, primary_key=True),
    Column("job", String(64), nullable=False),
    Column("scheduled_for", TS),  # the schedule's fire time; NULL for a run started by hand
    Column("triggered_by", String(255), nullable=False),  # scheduler@host, or the OS user of the CLI
    Column("source", String(32)),
    Column("source_location", String(1000)),
    Column("source_version", String(255)),
    Column("source_description", JSON),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("status", String(16), nullable=False),  # running | succeeded | partial | failed
    Column("counts", JSON),  # by kind: found, new, seen again, auto-resolved
    Column("issues", Integer, nullable=False, default=0),  # bad records of the source (a partial run)
    Column("error", Text),
    # a schedule fires a job once however many schedulers see the moment come
    UniqueConstraint("job", "scheduled_for"),
    Index("ix_reconciliation_runs_job_started", "job", "started_at"),
)

run_issues = Table(
    "run_issues",
    metadata,
    # the first bad records of a source a run met (file and line), bounded per run
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", GUID, ForeignKey("reconciliation_runs.id"), nullable=False, index=True),
    Column("file", String(1000), nullable=False),
    Column("line", Integer),
    Column("code", String(16), nullable=False),
    Column("message", String(2000), nullable=False),
)

job_locks = Table(
    "job_locks",
    metadata,
    # a job runs at most once at a time across processes and hosts: whoever holds the row holds the job
    Column("job", String(64), primary_key=True),
    Column("run_id", GUID, nullable=False),
    Column("holder", String(255), nullable=False),
    Column("acquired_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

discrepancies = Table(
    "discrepancies",
    metadata,
    # what a reconciliation found, with a stable identity: a later run updates it, never duplicates it
    Column("id", GUID, primary_key=True),
    Column("identity", String(64), nullable=False, unique=True),  # sha256(job, kind, object, subject)
    Column("job", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),  # info | warning | error
    Column("object_type", String(32), nullable=False),  # house | premises | account | device | mandate | licence
    Column("object_guid", String(64), nullable=False),
    Column("house_guid", GUID),  # the registry house concerned (for lists by house)
    Column("fias_house_guid", GUID),
    Column("org_guid", GUID),  # the organisation responsible (for lists by organisation)
    Column("summary", String(1000), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("suggested_fix", JSON),
    Column("score", Numeric(6, 3)),
    Column("status", String(16), nullable=False),  # open | acknowledged | resolved | auto_resolved
    Column("first_run", GUID, nullable=False),
    Column("last_run", GUID, nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("closed_at", TS),
    Column("closed_by", String(255)),
    Column("note", String(2000)),
    Column("applied_changeset", SERIAL),  # the change set of an applied fix
    Index("ix_discrepancies_status_kind", "status", "kind"),
    Index("ix_discrepancies_job_status", "job", "status"),
    Index("ix_discrepancies_org", "org_guid"),
    Index("ix_discrepancies_house", "fias_house_guid"),
)

discrepancy_events = Table(
    "discrepancy_events",
    metadata,
    # the lifecycle of each discrepancy, append-only: found, seen again, acknowledged, resolved, applied, …
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("discrepancy_id", GUID, ForeignKey("discrepancies.id"), nullable=False, index=True),
    Column("at", TS, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("run_id", GUID),
    Column("note", String(2000)),
)

# staging: a run's reference data, compared with the registry by SQL and deleted when the run ends
staging_egrn = Table(
    "staging_egrn",
    metadata,
    Column("run_id", GUID, nullable=False),
    Column("cad_number", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # room | build | …
    Column("parent_cad_number", String(40)),  # the building a room is in
    Column("number", String(50)),  # the premises number read from its address (кв. 5, пом. Н1)
    Column("area", Numeric(25, 4)),
    Column("residential", Boolean),  # purpose 206002000000 Жилое / 206001000000 Нежилое
    Column("purpose", String(255)),
    Column("address", String(1000)),
    Column("file", String(1000), nullable=False),
    Column("line", Integer),
    Index("ix_staging_egrn_run_cad", "run_id", "cad_number"),
    Index("ix_staging_egrn_run_parent", "run_id", "parent_cad_number", "number"),
)

staging_gar_houses = Table(
    "staging_gar_houses",
    metadata,
    Column("run_id", GUID, nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("object_guid", GUID, nullable=False),
    Column("row_id", BigInteger, nullable=False),  # the history row's ID (PREVID/NEXTID link these)
    Column("next_row_id", BigInteger),
    Column("is_actual", Boolean, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("end_date", Date),
    Index("ix_staging_gar_houses_run_guid", "run_id", "object_guid"),
    Index("ix_staging_gar_houses_run_row", "run_id", "row_id"),
)

staging_gar_apartments = Table(
    "staging_gar_apartments",
    metadata,
    Column("run_id", GUID, nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("number", String(50), nullable=False),  # current rows only (a renumbered flat's old number is not)
    Index("ix_staging_gar_apartments_run_object", "run_id", "object_id"),
)

staging_gar_hierarchy = Table(
    "staging_gar_hierarchy",
    metadata,
    Column("run_id", GUID, nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("parent_object_id", BigInteger, nullable=False),  # an apartment's house (active rows only)
    Index("ix_staging_gar_hierarchy_run_parent", "run_id", "parent_object_id"),
)

staging_gar_params = Table(
    "staging_gar_params",
    metadata,
    Column("run_id", GUID, nullable=False),
    Column("owner", String(16), nullable=False),  # house | apartment
    Column("object_id", BigInteger, nullable=False),
    Column("type_id", Integer, nullable=False),  # 7 OKTMO, 8 cadastral number (the rows in force)
    Column("value", String(255), nullable=False),
    Index("ix_staging_gar_params_run_object", "run_id", "object_id", "type_id"),
)

staging_licences = Table(
    "staging_licences",
    metadata,
    Column("run_id", GUID, nullable=False),
    Column("number", String(20), nullable=False),
    Column("status", String(1), nullable=False),  # A active | F finished | C cancelled | R rejected | I inactive
    Column("ogrn", String(15)),
    Column("fias_house_guid", GUID),  # one row per listed house (NULL: a licence listing none)
    Column("house_from", Date),
    Column("house_to", Date),
    Index("ix_staging_licences_run_ogrn", "run_id", "ogrn"),
)

#: APScheduler's SQLAlchemy job store (``gateway scheduler``), owned by the migrations like every other table;
#: the columns are the job store's own (apscheduler 3.x ``SQLAlchemyJobStore``)
scheduler_jobs = Table(
    "apscheduler_jobs",
    metadata,
    Column("id", String(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


# -- audit -----------------------------------------------------------------------------------------------------

audit_log = Table(
    "audit_log",
    metadata,
    # every administrative action, append-only: who (OS or console user), when, what, on what, how it ended
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False, index=True),
    Column("actor", String(255), nullable=False),
    Column("actor_kind", String(16), nullable=False),  # os | console | scheduler
    Column("action", String(64), nullable=False),  # keys.register, orgs.load, reconcile.resolve, …
    Column("target", String(255)),
    Column("outcome", String(16), nullable=False),  # ok | refused | failed
    Column("detail", JSON),
    Column("origin", String(255)),  # host, or the console client's address
)

door_refusals = Table(
    "door_refusals",
    metadata,
    # requests refused at the door, bounded by retention: never the body, only its digest
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False, index=True),
    Column("peer", String(64)),
    Column("claimed_org", String(64)),
    Column("operation", String(64)),
    Column("code", String(16), nullable=False),
    Column("body_sha256", String(64)),
    Column("body_bytes", Integer),
)


# -- delegated powers (gateway.domain.powers) -------------------------------------------------------------------

powers = Table(
    "powers",
    metadata,
    # a grantor lets a holder (an operator or another provider) sign for it, for some functions, over a period
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guid", GUID, nullable=False, unique=True),
    Column("grantor_guid", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("holder_guid", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("functions", JSON, nullable=False),  # sorted list: houses | accounts | devices | readings | …
    Column("starts_on", Date, nullable=False),  # inclusive, a registry date (UTC+12)
    Column("ends_on", Date),  # inclusive; NULL: until recalled or renounced
    Column("state", String(16), nullable=False),  # granted | accepted | recalled | renounced (expired: derived)
    Column("version_number", Integer, nullable=False),
    Column("granted_at", TS, nullable=False),
    Column("accepted_at", TS),
    Column("ended_at", TS),  # recalled or renounced at
    Column("changed_at", TS, nullable=False),
    Column("changed_by", String(255), nullable=False),  # the operator who recorded the last change
    Column("change_reason", String(1000)),  # why, as the operator recorded it
)

HISTORY_OF["powers"] = ("guid", ("grantor_guid", "holder_guid"))
HISTORY["powers"] = _history_table(powers, *HISTORY_OF["powers"])


# -- the web console (gateway.console) ----------------------------------------------------------------------------

console_users = Table(
    "console_users",
    metadata,
    # a person who logs in to the console: one organisation, one role; disabled, never deleted
    Column("guid", GUID, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("org_guid", GUID, ForeignKey("organisations.guid"), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # regulator | support | provider
    Column("password_hash", String(255), nullable=False),  # Argon2id, argon2-cffi's encoded form
    Column("created_at", TS, nullable=False),
    Column("password_changed_at", TS, nullable=False),
    Column("disabled_at", TS),
)

console_login_attempts = Table(
    "console_login_attempts",
    metadata,
    # every login attempt, for throttling across processes (per login and client address)
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_console_login_attempts_login_address_at", "login", "address", "at"),
)
