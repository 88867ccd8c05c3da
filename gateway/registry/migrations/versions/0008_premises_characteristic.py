"""A premises' characteristic (NSI 30: separate flat, communal flat, hostel, …).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("premises") as batch:
        batch.add_column(sa.Column("characteristic_code", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("characteristic_guid", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("premises") as batch:
        batch.drop_column("characteristic_guid")
        batch.drop_column("characteristic_code")
