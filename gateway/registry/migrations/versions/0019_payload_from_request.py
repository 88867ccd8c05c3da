"""Messages keep the signed element's digest instead of a second copy of it.

Until now every accepted request stored its envelope (byte-exact, the archive's evidence) and, beside it, the
signed element in canonical form — for 1,000 readings two values of half a megabyte each, both compressed on
the acknowledgement path. The worker now takes the signed element from the stored envelope, where the door
verified it (the single child of soap:Body, its enveloped ds:Signature set aside), so a new message stores an
empty ``payload`` and the SHA-256 of the canonical signed element in ``payload_sha256``, which is what a
resend under the same MessageGUID is compared with. Messages accepted before keep their payload and are
processed and compared from it. No rows are rewritten; ``payload`` stays NOT NULL, so SQLite's table is not
rebuilt.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("payload_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    # an earlier revision's worker reads only the payload: a message still to be processed, or dead and so
    # open to `gateway messages retry`, that has none would fail there — the downgrade waits until there is
    # none (processed ones need it only to tell a resend, which an earlier revision refuses as MessageGUID reuse)
    bind = op.get_bind()
    waiting = bind.execute(sa.text("SELECT count(*) FROM messages WHERE length(payload) = 0 "
                                   "AND state IN ('received', 'processing', 'dead')")).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} messages waiting to be processed or dead were stored without a separate "
                           "payload (revision 0019), which an earlier revision cannot process; let the workers "
                           "finish them (and retry or leave the dead ones), then downgrade")
    # a plain DROP COLUMN (SQLite ≥ 3.35): a batch rebuild of messages would trip the tables that refer to it
    op.execute("ALTER TABLE messages DROP COLUMN payload_sha256")
