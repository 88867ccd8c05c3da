"""Personal accounts and what they pay for (importAccountData / exportAccountData).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("unified_number", sa.String(length=10), nullable=True),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("account_number", sa.String(length=30), nullable=True),
        sa.Column("posted_by", sa.String(length=36), nullable=False),
        sa.Column("payer_kind", sa.String(length=8), nullable=True),
        sa.Column("payer_surname", sa.String(length=255), nullable=True),
        sa.Column("payer_first_name", sa.String(length=255), nullable=True),
        sa.Column("payer_patronymic", sa.String(length=255), nullable=True),
        sa.Column("payer_snils", sa.String(length=11), nullable=True),
        sa.Column("payer_document_type", sa.String(length=20), nullable=True),
        sa.Column("payer_document_series", sa.String(length=45), nullable=True),
        sa.Column("payer_document_number", sa.String(length=45), nullable=True),
        sa.Column("payer_org_version_guid", sa.String(length=36), nullable=True),
        sa.Column("is_renter", sa.Boolean(), nullable=False),
        sa.Column("living_persons", sa.Integer(), nullable=True),
        sa.Column("total_square", sa.Numeric(precision=25, scale=4), nullable=True),
        sa.Column("residential_square", sa.Numeric(precision=25, scale=4), nullable=True),
        sa.Column("heated_area", sa.Numeric(precision=25, scale=4), nullable=True),
        sa.Column("closed_reason_code", sa.String(length=20), nullable=True),
        sa.Column("closed_reason_guid", sa.String(length=36), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_description", sa.String(length=250), nullable=True),
        sa.Column("version_guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["posted_by"], ["organisations.guid"], name=op.f("fk_accounts_posted_by_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("guid", name=op.f("uq_accounts_guid")),
        sa.UniqueConstraint("unified_number", name=op.f("uq_accounts_unified_number")),
    )
    op.create_index(op.f("ix_accounts_posted_by"), "accounts", ["posted_by"], unique=False)
    op.create_table(
        "account_accommodations",
        sa.Column("account_guid", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("premises_guid", sa.String(length=36), nullable=True),
        sa.Column("fias_house_guid", sa.String(length=36), nullable=True),
        sa.Column("house_guid", sa.String(length=36), nullable=False),
        sa.Column("share_percent", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("service_id", sa.String(length=13), nullable=False),
        sa.ForeignKeyConstraint(["account_guid"], ["accounts.guid"],
                                name=op.f("fk_account_accommodations_account_guid_accounts")),
        sa.ForeignKeyConstraint(["house_guid"], ["houses.guid"], name=op.f("fk_account_accommodations_house_guid_houses")),
        sa.ForeignKeyConstraint(["premises_guid"], ["premises.guid"],
                                name=op.f("fk_account_accommodations_premises_guid_premises")),
        sa.PrimaryKeyConstraint("account_guid", "ordinal", name=op.f("pk_account_accommodations")),
        sa.UniqueConstraint("service_id", name=op.f("uq_account_accommodations_service_id")),
    )
    op.create_index(op.f("ix_account_accommodations_house_guid"), "account_accommodations", ["house_guid"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_accommodations_house_guid"), table_name="account_accommodations")
    op.drop_table("account_accommodations")
    op.drop_index(op.f("ix_accounts_posted_by"), table_name="accounts")
    op.drop_table("accounts")
