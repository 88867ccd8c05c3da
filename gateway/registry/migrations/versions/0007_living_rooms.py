"""Rooms of communal flats, and the rooms a room meter serves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

GUID = sa.String(length=36)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "living_rooms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("premises_guid", GUID, nullable=False),
        sa.Column("house_guid", GUID, nullable=False),
        sa.Column("number", sa.String(length=255), nullable=False),
        sa.Column("cadastral_status", sa.String(length=16), nullable=False),
        sa.Column("cadastral_number", sa.String(length=255), nullable=True),
        sa.Column("square", sa.Numeric(precision=25, scale=4), nullable=True),
        sa.Column("version_guid", GUID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["premises_guid"], ["premises.guid"], name="fk_living_rooms_premises_guid_premises"),
        sa.ForeignKeyConstraint(["house_guid"], ["houses.guid"], name="fk_living_rooms_house_guid_houses"),
        sa.PrimaryKeyConstraint("id", name="pk_living_rooms"),
        sa.UniqueConstraint("guid", name="uq_living_rooms_guid"),
        sa.UniqueConstraint("premises_guid", "number", name="uq_living_rooms_premises_guid_number"),
    )
    op.create_index("ix_living_rooms_house_guid", "living_rooms", ["house_guid"])
    with op.batch_alter_table("metering_devices") as batch:
        batch.add_column(sa.Column("rooms", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metering_devices") as batch:
        batch.drop_column("rooms")
    op.drop_table("living_rooms")
