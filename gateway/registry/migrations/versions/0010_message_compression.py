"""LZ4 instead of pglz for the message bodies on PostgreSQL.

Every accepted request stores its envelope and its signed element (each about 0.5 MB for 1,000 readings) and
every processed one its result; PostgreSQL compresses such values when it stores them out of line (TOAST).
With the default pglz that cost the database about 5 ms per 0.5 MB on the acknowledgement path; LZ4 took 1 ms
and compressed a 1,000-reading request as well (5.8:1, pglz 5.6:1). Values already stored keep their
compression and read back as before. A server built without LZ4 (``default_toast_compression`` does not offer
it) keeps pglz; SQLite stores the bytes as they are.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_COLUMNS = ("request", "payload", "result")


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (14,):
        return False
    offered = bind.execute(sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    return bool(offered) and "lz4" in str(offered)


def upgrade() -> None:
    if _lz4_available():
        for column in _COLUMNS:
            op.execute(f"ALTER TABLE messages ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        for column in _COLUMNS:
            op.execute(f"ALTER TABLE messages ALTER COLUMN {column} SET COMPRESSION pglz")
