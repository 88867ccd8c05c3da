"""Notices of owners' meetings and electronic votes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GUID = sa.String(length=36)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "votings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("version_guid", GUID, nullable=False),
        sa.Column("house_guid", GUID, nullable=False),
        sa.Column("fias_house_guid", GUID, nullable=False),
        sa.Column("posted_by", GUID, nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("starts_at", TS, nullable=True),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["house_guid"], ["houses.guid"], name="fk_votings_house_guid_houses"),
        sa.ForeignKeyConstraint(["posted_by"], ["organisations.guid"], name="fk_votings_posted_by_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_votings"),
        sa.UniqueConstraint("guid", name="uq_votings_guid"),
        sa.UniqueConstraint("version_guid", name="uq_votings_version_guid"),
    )
    op.create_index("ix_votings_house_guid", "votings", ["house_guid"])


def downgrade() -> None:
    op.drop_table("votings")
