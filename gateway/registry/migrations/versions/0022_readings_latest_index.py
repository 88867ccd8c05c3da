"""The latest kept readings of a series read from an index: (device, resource, kind, date) over kept rows only.

The worker reads the three latest kept readings of every series a message names. With only the index over all
rows (kept and superseded) SQLite sorted each series' kept rows and PostgreSQL filtered the superseded ones on
the way: the cost grew with a meter's history (a 1,000-reading message took 2× as long at 100 kept readings
per meter, 7.5× at 1,000). A backward scan of this partial index stops after three rows.

Revision ID: 0022
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_meter_readings_kept_series", "meter_readings",
                    ["device_root_guid", "resource_code", "kind", "reading_date"],
                    sqlite_where=sa.text("superseded_at IS NULL"), postgresql_where=sa.text("superseded_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_meter_readings_kept_series", "meter_readings")
