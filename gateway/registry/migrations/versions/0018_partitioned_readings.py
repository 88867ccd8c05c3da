"""``meter_readings`` partitioned by month on PostgreSQL; its id a bigint.

A national registry stores billions of readings; in one table every device-keyed index grows with all of them
and ingest slows as the registry fills (1.48× from empty to 10,000,000 stored readings, measured). The table
becomes a partitioned one, ``PARTITION BY RANGE (period)``: a partition per month
(``meter_readings_pYYYY_MM``) over a contiguous range, with ``meter_readings_before`` (MINVALUE up to the first
month) and ``meter_readings_after`` (after the last month, to MAXVALUE) around it so that no insert ever finds no
partition. ``gateway.registry.partitions`` maintains the months ahead (the scheduler and ``gateway db partitions``).

The range starts at the oldest period already stored, but not more than 24 months back (older readings stay
together in ``meter_readings_before``) and at least three months back, and ends three months after the current
one. Every stored reading is
copied, ids and all; the id sequence becomes a bigint (an integer would run out within a year and a half at
national volume). PostgreSQL requires the partition key in every unique index: the primary key becomes
(id, period) and the GUID is unique with its period (the gateway draws time-ordered GUIDs itself). The copy takes
the table's lock for its duration: on a large registry run it in a maintenance window.

SQLite keeps one table (its id is already a 64-bit integer): nothing changes there. Downgrade turns the
partitions back into one table.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLE = "meter_readings"
BACK = 24  # months of partitions made for readings already stored
AHEAD = 3  # months of partitions made after the current one
FRESH = 3  # months of partitions made before the current one at least (last quarter's readings come late)
_COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('meter_readings_id_seq'::regclass),
    guid character varying(36) NOT NULL,
    device_root_guid character varying(36) NOT NULL,
    resource_code character varying(20) NOT NULL,
    kind character varying(8) NOT NULL,
    period character varying(7) NOT NULL,
    reading_date date NOT NULL,
    v1 numeric(22,7) NOT NULL,
    v2 numeric(22,7),
    v3 numeric(22,7),
    flags character varying(100) NOT NULL,
    posted_by character varying(36) NOT NULL,
    message_guid character varying(36) NOT NULL,
    transport_guid character varying(36) NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    superseded_at timestamp with time zone,
    superseded_by character varying(36),
    changeset_id bigint NOT NULL,
    superseded_in bigint"""
_FOREIGN = """,
    CONSTRAINT fk_meter_readings_device_root_guid_metering_devices FOREIGN KEY (device_root_guid)
        REFERENCES metering_devices (root_guid),
    CONSTRAINT fk_meter_readings_message_guid_messages FOREIGN KEY (message_guid) REFERENCES messages (guid),
    CONSTRAINT fk_meter_readings_posted_by_organisations FOREIGN KEY (posted_by) REFERENCES organisations (guid)"""
_INDEXES = ("CREATE INDEX ix_meter_readings_series ON meter_readings (device_root_guid, resource_code, kind, "
            "reading_date)",
            "CREATE UNIQUE INDEX uq_meter_readings_kept ON meter_readings (device_root_guid, resource_code, kind, "
            "period) WHERE superseded_at IS NULL")
_INDEX_NAMES = ("pk_meter_readings", "uq_meter_readings_guid", "ix_meter_readings_series", "uq_meter_readings_kept")


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def _set_aside() -> str:
    """Rename the current table and its indexes out of the way; returns the old table's name."""
    old = f"{TABLE}_unpartitioned"
    op.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
    for name in _INDEX_NAMES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    op.execute("ALTER SEQUENCE meter_readings_id_seq OWNED BY NONE")
    return old


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    now = datetime.now(UTC)
    current = now.year * 12 + now.month - 1
    oldest = bind.execute(sa.text(
        "SELECT min(period) FROM meter_readings WHERE period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'")).scalar()
    first = min(current - FRESH, max(_index(oldest), current - BACK)) if oldest else current - FRESH
    last = current + AHEAD
    old = _set_aside()
    op.execute("ALTER SEQUENCE meter_readings_id_seq AS bigint")
    op.execute(f"CREATE TABLE {TABLE} ({_COLUMNS},\n    CONSTRAINT pk_meter_readings PRIMARY KEY (id, period),\n"
               f"    CONSTRAINT uq_meter_readings_guid UNIQUE (guid, period){_FOREIGN}) PARTITION BY RANGE (period)")
    for statement in _INDEXES:
        op.execute(statement)
    op.execute(f"CREATE TABLE {TABLE}_before PARTITION OF {TABLE} FOR VALUES FROM (MINVALUE) TO ('{_month(first)}')")
    for index in range(first, last + 1):
        month = _month(index)
        op.execute(f"CREATE TABLE {TABLE}_p{month.replace('-', '_')} PARTITION OF {TABLE} "
                   f"FOR VALUES FROM ('{month}') TO ('{_month(index + 1)}')")
    op.execute(f"CREATE TABLE {TABLE}_after PARTITION OF {TABLE} FOR VALUES FROM ('{_month(last + 1)}') TO (MAXVALUE)")
    op.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608 - constant names; same column order
    op.execute(f"DROP TABLE {old}")
    op.execute("ALTER SEQUENCE meter_readings_id_seq OWNED BY meter_readings.id")
    op.execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    old = _set_aside()
    op.execute(f"CREATE TABLE {TABLE} ({_COLUMNS},\n    CONSTRAINT pk_meter_readings PRIMARY KEY (id),\n"
               f"    CONSTRAINT uq_meter_readings_guid UNIQUE (guid){_FOREIGN})")
    for statement in _INDEXES:
        op.execute(statement)
    op.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608 - constant names
    op.execute(f"DROP TABLE {old}")  # its partitions with it
    op.execute("ALTER SEQUENCE meter_readings_id_seq OWNED BY meter_readings.id")
