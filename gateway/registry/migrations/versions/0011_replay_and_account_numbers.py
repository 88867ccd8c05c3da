"""Replay protection for signed requests, and one open account per account number and organisation.

``signed_payloads`` keeps the digest of every accepted request's canonical ``ds:SignedInfo`` until its
certificate expires: the RequestHeader (and its MessageGUID) is not signed, so without it a captured signed
body sent again under a new MessageGUID was processed twice (a second account for the same flat).

An organisation's open personal accounts have distinct account numbers: a partial unique index (open accounts
with a number) makes that hold under concurrent messages too. A registry that already holds duplicates cannot
take the index: the upgrade stops and names them, so support can close the extra accounts first.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_OPEN_WITH_NUMBER = "closed_on IS NULL AND account_number IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "signed_payloads",
        sa.Column("replay_key", sa.String(64), primary_key=True),
        sa.Column("message_guid", sa.String(36), sa.ForeignKey("messages.guid", name="fk_signed_payloads_message_guid_messages"),
                  nullable=False),
        sa.Column("org_guid", sa.String(36), sa.ForeignKey("organisations.guid", name="fk_signed_payloads_org_guid_organisations"),
                  nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keep_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("replay_key", name="pk_signed_payloads"),
    )
    op.create_index("ix_signed_payloads_keep_until", "signed_payloads", ["keep_until"])
    duplicates = op.get_bind().execute(sa.text(
        "SELECT posted_by, account_number, COUNT(*) FROM accounts WHERE closed_on IS NULL AND account_number IS NOT "
        "NULL GROUP BY posted_by, account_number HAVING COUNT(*) > 1")).all()
    if duplicates:
        listed = "; ".join(f"organisation {org} account number {number!r} ({count} open)"
                           for org, number, count in duplicates[:20])
        raise RuntimeError(f"open personal accounts share an account number: {listed}. Close the extra accounts "
                           "(importAccountData with Closed) and run `gateway db upgrade` again")
    op.create_index("uq_accounts_open_number", "accounts", ["posted_by", "account_number"], unique=True,
                    sqlite_where=sa.text(_OPEN_WITH_NUMBER), postgresql_where=sa.text(_OPEN_WITH_NUMBER))


def downgrade() -> None:
    op.drop_index("uq_accounts_open_number", "accounts")
    op.drop_index("ix_signed_payloads_keep_until", "signed_payloads")
    op.drop_table("signed_payloads")
