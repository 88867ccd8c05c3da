"""Delegated powers and operator signatures (IsOperatorSignature).

``powers``: a grantor lets a holder sign for it, for some functions (houses, accounts, devices, readings,
meetings, contracts), over a period, in a state (granted, accepted, recalled, renounced), versioned in
``powers_history`` like every other object. A message signed by the holder for the grantor records both: the
data are the grantor's (``messages.org_guid``, ``changesets.org_guid``), signed by ``signed_by`` under
``power_guid`` — on the message, on the change set of what it wrote, and on its archive entry (part of the
entry's chain value). The added columns carry no foreign keys: SQLite cannot add one without rebuilding the
message table, and the gateway writes them only from a verified signature and a power it has just read.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GUID = sa.String(36)


def _columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guid", GUID, nullable=False),
        sa.Column("grantor_guid", GUID, nullable=False),
        sa.Column("holder_guid", GUID, nullable=False),
        sa.Column("functions", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("accepted_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(255), nullable=False),
        sa.Column("change_reason", sa.String(1000), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "powers", *_columns(),
        sa.ForeignKeyConstraint(["grantor_guid"], ["organisations.guid"], name="fk_powers_grantor_guid_organisations"),
        sa.ForeignKeyConstraint(["holder_guid"], ["organisations.guid"], name="fk_powers_holder_guid_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_powers"),
        sa.UniqueConstraint("guid", name="uq_powers_guid"),
    )
    op.create_index("ix_powers_grantor_guid", "powers", ["grantor_guid"])
    op.create_index("ix_powers_holder_guid", "powers", ["holder_guid"])
    op.create_table(
        "powers_history",
        sa.Column("hid", SERIAL, nullable=False),
        *_columns(),
        sa.Column("recorded_from", TS, nullable=False),
        sa.Column("recorded_to", TS, nullable=True),
        sa.Column("changeset_id", SERIAL, nullable=False),
        sa.Column("superseded_in", SERIAL, nullable=True),
        sa.PrimaryKeyConstraint("hid", name="pk_powers_history"),
    )
    op.create_index("ix_powers_history_guid", "powers_history", ["guid", "recorded_from"])
    op.create_index("ix_powers_history_grantor_guid", "powers_history", ["grantor_guid"])
    op.create_index("ix_powers_history_holder_guid", "powers_history", ["holder_guid"])
    for table in ("messages", "changesets", "archive"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("signed_by", GUID, nullable=True))
            batch.add_column(sa.Column("power_guid", GUID, nullable=True))
    op.create_index("ix_messages_power_guid", "messages", ["power_guid"])
    op.create_index("ix_changesets_power_guid", "changesets", ["power_guid"])


def downgrade() -> None:
    op.drop_index("ix_changesets_power_guid", "changesets")
    op.drop_index("ix_messages_power_guid", "messages")
    for table in ("archive", "changesets", "messages"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("power_guid")
            batch.drop_column("signed_by")
    op.drop_table("powers_history")
    op.drop_table("powers")
