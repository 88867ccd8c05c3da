"""Reference directories, contracts and charters (authority), metering devices and readings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GUID = sa.String(length=36)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nsi_items",
        sa.Column("registry", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=True),
        sa.Column("loaded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("registry", "code", name="pk_nsi_items"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("version_guid", GUID, nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_guid", GUID, nullable=False),
        sa.Column("number", sa.String(length=255), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("base_code", sa.String(length=20), nullable=True),
        sa.Column("base_guid", GUID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("state_reason", sa.String(length=1000), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_guid"], ["organisations.guid"], name="fk_documents_org_guid_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("guid", name="uq_documents_guid"),
        sa.UniqueConstraint("version_guid", name="uq_documents_version_guid"),
    )
    op.create_index("ix_documents_org_guid", "documents", ["org_guid"])
    op.create_table(
        "mandates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("object_version_guid", GUID, nullable=False),
        sa.Column("document_guid", GUID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_guid", GUID, nullable=False),
        sa.Column("fias_house_guid", GUID, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("annulled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["document_guid"], ["documents.guid"], name="fk_mandates_document_guid_documents"),
        sa.ForeignKeyConstraint(["org_guid"], ["organisations.guid"], name="fk_mandates_org_guid_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_mandates"),
        sa.UniqueConstraint("object_version_guid", name="uq_mandates_object_version_guid"),
    )
    op.create_index("ix_mandates_document_guid", "mandates", ["document_guid"])
    op.create_index("ix_mandates_fias_house_guid", "mandates", ["fias_house_guid"])
    op.create_table(
        "metering_devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("root_guid", GUID, nullable=False),
        sa.Column("version_guid", GUID, nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("gis_number", sa.String(length=40), nullable=True),
        sa.Column("house_guid", GUID, nullable=False),
        sa.Column("fias_house_guid", GUID, nullable=False),
        sa.Column("posted_by", GUID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("stamp", sa.String(length=100), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("commissioned_on", sa.Date(), nullable=True),
        sa.Column("first_verified_on", sa.Date(), nullable=True),
        sa.Column("interval_code", sa.String(length=20), nullable=True),
        sa.Column("interval_guid", GUID, nullable=True),
        sa.Column("next_verification_on", sa.Date(), nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("temperature_sensor", sa.Boolean(), nullable=False),
        sa.Column("pressure_sensor", sa.Boolean(), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("houses", sa.JSON(), nullable=False),
        sa.Column("archived_on", sa.Date(), nullable=True),
        sa.Column("archive_reason_code", sa.String(length=20), nullable=True),
        sa.Column("archive_reason_guid", GUID, nullable=True),
        sa.Column("replaced_by", GUID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["house_guid"], ["houses.guid"], name="fk_metering_devices_house_guid_houses"),
        sa.ForeignKeyConstraint(["posted_by"], ["organisations.guid"],
                                name="fk_metering_devices_posted_by_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_metering_devices"),
        sa.UniqueConstraint("root_guid", name="uq_metering_devices_root_guid"),
        sa.UniqueConstraint("version_guid", name="uq_metering_devices_version_guid"),
        sa.UniqueConstraint("gis_number", name="uq_metering_devices_gis_number"),
    )
    op.create_index("ix_metering_devices_house_guid", "metering_devices", ["house_guid"])
    op.create_table(
        "device_premises",
        sa.Column("device_root_guid", GUID, nullable=False),
        sa.Column("premises_guid", GUID, nullable=False),
        sa.ForeignKeyConstraint(["device_root_guid"], ["metering_devices.root_guid"],
                                name="fk_device_premises_device_root_guid_metering_devices"),
        sa.ForeignKeyConstraint(["premises_guid"], ["premises.guid"], name="fk_device_premises_premises_guid_premises"),
        sa.PrimaryKeyConstraint("device_root_guid", "premises_guid", name="pk_device_premises"),
    )
    op.create_index("ix_device_premises_premises_guid", "device_premises", ["premises_guid"])
    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("device_root_guid", GUID, nullable=False),
        sa.Column("resource_code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("reading_date", sa.Date(), nullable=False),
        sa.Column("v1", sa.Numeric(precision=22, scale=7), nullable=False),
        sa.Column("v2", sa.Numeric(precision=22, scale=7), nullable=True),
        sa.Column("v3", sa.Numeric(precision=22, scale=7), nullable=True),
        sa.Column("flags", sa.String(length=100), nullable=False),
        sa.Column("posted_by", GUID, nullable=False),
        sa.Column("message_guid", GUID, nullable=False),
        sa.Column("transport_guid", GUID, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("superseded_at", TS, nullable=True),
        sa.Column("superseded_by", GUID, nullable=True),
        sa.ForeignKeyConstraint(["device_root_guid"], ["metering_devices.root_guid"],
                                name="fk_meter_readings_device_root_guid_metering_devices"),
        sa.ForeignKeyConstraint(["posted_by"], ["organisations.guid"], name="fk_meter_readings_posted_by_organisations"),
        sa.ForeignKeyConstraint(["message_guid"], ["messages.guid"], name="fk_meter_readings_message_guid_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_meter_readings"),
        sa.UniqueConstraint("guid", name="uq_meter_readings_guid"),
    )
    op.create_index("ix_meter_readings_series", "meter_readings",
                    ["device_root_guid", "resource_code", "kind", "reading_date"])
    op.create_index("uq_meter_readings_kept", "meter_readings", ["device_root_guid", "resource_code", "kind", "period"],
                    unique=True, sqlite_where=sa.text("superseded_at IS NULL"),
                    postgresql_where=sa.text("superseded_at IS NULL"))


def downgrade() -> None:
    op.drop_table("meter_readings")
    op.drop_table("device_premises")
    op.drop_table("metering_devices")
    op.drop_table("mandates")
    op.drop_table("documents")
    op.drop_table("nsi_items")
