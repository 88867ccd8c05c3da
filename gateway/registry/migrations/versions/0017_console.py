"""The web console's accounts and login attempts.

``console_users``: a person who logs in to the console, belonging to one organisation, with one role
(regulator, support, provider) and an Argon2 password hash; disabled, never deleted (the audit log names
them). ``console_login_attempts``: every login attempt by login and client address, so throttling holds
across server processes and hosts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GUID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("guid", GUID, nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("org_guid", GUID, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("password_changed_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["org_guid"], ["organisations.guid"], name="fk_console_users_org_guid_organisations"),
        sa.PrimaryKeyConstraint("guid", name="pk_console_users"),
        sa.UniqueConstraint("login", name="uq_console_users_login"),
    )
    op.create_index("ix_console_users_org_guid", "console_users", ["org_guid"])
    op.create_table(
        "console_login_attempts",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_console_login_attempts"),
    )
    op.create_index("ix_console_login_attempts_login_address_at", "console_login_attempts",
                    ["login", "address", "at"])


def downgrade() -> None:
    op.drop_index("ix_console_login_attempts_login_address_at", "console_login_attempts")
    op.drop_table("console_login_attempts")
    op.drop_index("ix_console_users_org_guid", "console_users")
    op.drop_table("console_users")
