"""Tamper-evident archive: a hash chain over every accepted request and every result.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_guid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prev", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_guid"], ["messages.guid"], name=op.f("fk_archive_message_guid_messages")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_archive")),
        sa.UniqueConstraint("message_guid", "kind", name=op.f("uq_archive_message_guid_kind")),
    )
    op.create_index(op.f("ix_archive_message_guid"), "archive", ["message_guid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_archive_message_guid"), table_name="archive")
    op.drop_table("archive")
