"""Administrative offences: inspectorates' penalty decrees (the rap service), versioned like every registry
object, and the regions each regulator oversees (its jurisdiction).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _decree_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("guid", sa.String(36), nullable=False),
        sa.Column("registry_number", sa.String(32), nullable=False),
        sa.Column("regulator_guid", sa.String(36), nullable=False),
        sa.Column("offender_guid", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proceeding_date", sa.Date(), nullable=False),
        sa.Column("executed", sa.Boolean(), nullable=True),
        sa.Column("fine_paid_on", sa.Date(), nullable=True),
        sa.Column("violation_codes", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("change_reason", sa.JSON(), nullable=True),
        sa.Column("cancel_reason", sa.JSON(), nullable=True),
        sa.Column("version_guid", sa.String(36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "decrees",
        *_decree_columns(),
        sa.ForeignKeyConstraint(["regulator_guid"], ["organisations.guid"],
                                name=op.f("fk_decrees_regulator_guid_organisations")),
        sa.ForeignKeyConstraint(["offender_guid"], ["organisations.guid"],
                                name=op.f("fk_decrees_offender_guid_organisations")),
        sa.PrimaryKeyConstraint("guid", name=op.f("pk_decrees")),
        sa.UniqueConstraint("registry_number", name=op.f("uq_decrees_registry_number")),
    )
    op.create_index(op.f("ix_decrees_offender_guid"), "decrees", ["offender_guid"])
    op.create_table(
        "decrees_history",
        sa.Column("hid", SERIAL, autoincrement=True, nullable=False),
        *_decree_columns(),
        sa.Column("recorded_from", TS, nullable=False),
        sa.Column("recorded_to", TS, nullable=True),
        sa.Column("changeset_id", SERIAL, nullable=False),
        sa.Column("superseded_in", SERIAL, nullable=True),
        sa.PrimaryKeyConstraint("hid", name=op.f("pk_decrees_history")),
    )
    op.create_index("ix_decrees_history_guid", "decrees_history", ["guid", "recorded_from"])
    op.create_index("ix_decrees_history_offender_guid", "decrees_history", ["offender_guid"])
    op.create_table(
        "jurisdictions",
        sa.Column("org_guid", sa.String(36), nullable=False),
        sa.Column("oktmo_prefix", sa.String(11), nullable=False),
        sa.Column("set_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_guid"], ["organisations.guid"],
                                name=op.f("fk_jurisdictions_org_guid_organisations")),
        sa.PrimaryKeyConstraint("org_guid", "oktmo_prefix", name=op.f("pk_jurisdictions")),
    )


def downgrade() -> None:
    op.drop_table("jurisdictions")
    op.drop_index("ix_decrees_history_offender_guid", "decrees_history")
    op.drop_index("ix_decrees_history_guid", "decrees_history")
    op.drop_table("decrees_history")
    op.drop_index(op.f("ix_decrees_offender_guid"), "decrees")
    op.drop_table("decrees")
