"""Owners' general meeting protocols and individual decisions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GUID = sa.String(length=36)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "protocols",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("version_guid", GUID, nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("voting_guid", GUID, nullable=False),
        sa.Column("house_guid", GUID, nullable=False),
        sa.Column("fias_house_guid", GUID, nullable=False),
        sa.Column("posted_by", GUID, nullable=False),
        sa.Column("number", sa.String(length=255), nullable=True),
        sa.Column("protocol_date", sa.Date(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("total_votes", sa.Numeric(precision=25, scale=4), nullable=False),
        sa.Column("cast_votes", sa.Numeric(precision=25, scale=4), nullable=False),
        sa.Column("competent", sa.Boolean(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("flags", sa.String(length=1000), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["house_guid"], ["houses.guid"], name="fk_protocols_house_guid_houses"),
        sa.ForeignKeyConstraint(["posted_by"], ["organisations.guid"], name="fk_protocols_posted_by_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_protocols"),
        sa.UniqueConstraint("guid", name="uq_protocols_guid"),
        sa.UniqueConstraint("version_guid", name="uq_protocols_version_guid"),
        sa.UniqueConstraint("voting_guid", name="uq_protocols_voting_guid"),
    )
    op.create_index("ix_protocols_house_guid", "protocols", ["house_guid"])
    op.create_table(
        "owner_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("protocol_guid", GUID, nullable=False),
        sa.Column("question", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("premises_guid", GUID, nullable=False),
        sa.Column("votes", sa.Numeric(precision=25, scale=4), nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=False),
        sa.Column("posted_by", GUID, nullable=False),
        sa.Column("message_guid", GUID, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("superseded_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["protocol_guid"], ["protocols.guid"], name="fk_owner_decisions_protocol_guid_protocols"),
        sa.ForeignKeyConstraint(["premises_guid"], ["premises.guid"], name="fk_owner_decisions_premises_guid_premises"),
        sa.ForeignKeyConstraint(["posted_by"], ["organisations.guid"],
                                name="fk_owner_decisions_posted_by_organisations"),
        sa.ForeignKeyConstraint(["message_guid"], ["messages.guid"], name="fk_owner_decisions_message_guid_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_owner_decisions"),
        sa.UniqueConstraint("guid", name="uq_owner_decisions_guid"),
    )
    op.create_index("ix_owner_decisions_protocol_guid", "owner_decisions", ["protocol_guid"])
    op.create_index("uq_owner_decisions_kept", "owner_decisions", ["protocol_guid", "question", "owner", "premises_guid"],
                    unique=True, sqlite_where=sa.text("superseded_at IS NULL"),
                    postgresql_where=sa.text("superseded_at IS NULL"))


def downgrade() -> None:
    op.drop_table("owner_decisions")
    op.drop_table("protocols")
