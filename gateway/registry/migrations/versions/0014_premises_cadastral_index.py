"""An index on premises' cadastral numbers: reconciliation asks, for every candidate number the EGRN extract
offers, whether another premises carries it already (without the index: a scan per candidate, quadratic in the
registry's size — 100 s for 100,000 premises on SQLite, against a fraction of a second with it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_premises_cadastral_number", "premises", ["cadastral_number"])


def downgrade() -> None:
    op.drop_index("ix_premises_cadastral_number", "premises")
