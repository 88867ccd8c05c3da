"""Accounts for rooms of communal flats.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_accommodations") as batch:
        batch.add_column(sa.Column("living_room_guid", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_accommodations") as batch:
        batch.drop_column("living_room_guid")
