"""Initial registry: organisations, certificates, houses, premises, object versions, messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organisations',
    sa.Column('guid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('ogrn', sa.String(length=15), nullable=False),
    sa.Column('inn', sa.String(length=12), nullable=False),
    sa.Column('kpp', sa.String(length=9), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('guid', name=op.f('pk_organisations')),
    sa.UniqueConstraint('ogrn', name=op.f('uq_organisations_ogrn'))
    )
    op.create_table('certificates',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('org_guid', sa.String(length=36), nullable=False),
    sa.Column('subject', sa.String(length=1000), nullable=False),
    sa.Column('issuer', sa.String(length=1000), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pem', sa.Text(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_guid'], ['organisations.guid'], name=op.f('fk_certificates_org_guid_organisations')),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_certificates'))
    )
    op.create_index(op.f('ix_certificates_org_guid'), 'certificates', ['org_guid'], unique=False)
    op.create_table('houses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('guid', sa.String(length=36), nullable=False),
    sa.Column('fias_house_guid', sa.String(length=36), nullable=False),
    sa.Column('unique_number', sa.String(length=31), nullable=True),
    sa.Column('house_type', sa.String(length=16), nullable=False),
    sa.Column('cadastral_status', sa.String(length=16), nullable=False),
    sa.Column('cadastral_number', sa.String(length=255), nullable=True),
    sa.Column('total_square', sa.Numeric(precision=25, scale=4), nullable=False),
    sa.Column('state_code', sa.String(length=20), nullable=False),
    sa.Column('state_guid', sa.String(length=36), nullable=False),
    sa.Column('used_year', sa.Integer(), nullable=False),
    sa.Column('floor_count', sa.Integer(), nullable=False),
    sa.Column('underground_floor_count', sa.Integer(), nullable=False),
    sa.Column('min_floor_count', sa.Integer(), nullable=True),
    sa.Column('oktmo', sa.String(length=11), nullable=True),
    sa.Column('olson_tz_code', sa.String(length=20), nullable=False),
    sa.Column('olson_tz_guid', sa.String(length=36), nullable=False),
    sa.Column('cultural_heritage', sa.Boolean(), nullable=False),
    sa.Column('posted_by', sa.String(length=36), nullable=False),
    sa.Column('version_guid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['posted_by'], ['organisations.guid'], name=op.f('fk_houses_posted_by_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_houses')),
    sa.UniqueConstraint('fias_house_guid', name=op.f('uq_houses_fias_house_guid')),
    sa.UniqueConstraint('guid', name=op.f('uq_houses_guid')),
    sa.UniqueConstraint('unique_number', name=op.f('uq_houses_unique_number'))
    )
    op.create_table('messages',
    sa.Column('guid', sa.String(length=36), nullable=False),
    sa.Column('requester_message_guid', sa.String(length=36), nullable=False),
    sa.Column('org_guid', sa.String(length=36), nullable=False),
    sa.Column('service', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('request', sa.LargeBinary(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['org_guid'], ['organisations.guid'], name=op.f('fk_messages_org_guid_organisations')),
    sa.PrimaryKeyConstraint('guid', name=op.f('pk_messages')),
    sa.UniqueConstraint('org_guid', 'requester_message_guid', name=op.f('uq_messages_org_guid_requester_message_guid'))
    )
    op.create_index('ix_messages_state_received', 'messages', ['state', 'received_at'], unique=False)
    op.create_table('object_versions',
    sa.Column('version_guid', sa.String(length=36), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_guid', sa.String(length=36), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_guid', sa.String(length=36), nullable=False),
    sa.Column('message_guid', sa.String(length=36), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['message_guid'], ['messages.guid'], name=op.f('fk_object_versions_message_guid_messages')),
    sa.ForeignKeyConstraint(['org_guid'], ['organisations.guid'], name=op.f('fk_object_versions_org_guid_organisations')),
    sa.PrimaryKeyConstraint('version_guid', name=op.f('pk_object_versions'))
    )
    op.create_index('ix_object_versions_object', 'object_versions', ['object_type', 'object_guid', 'valid_from'], unique=False)
    op.create_table('premises',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('guid', sa.String(length=36), nullable=False),
    sa.Column('house_guid', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=255), nullable=False),
    sa.Column('cadastral_status', sa.String(length=16), nullable=False),
    sa.Column('cadastral_number', sa.String(length=255), nullable=True),
    sa.Column('entrance_num', sa.String(length=255), nullable=True),
    sa.Column('total_area', sa.Numeric(precision=25, scale=4), nullable=True),
    sa.Column('gross_area', sa.Numeric(precision=25, scale=4), nullable=True),
    sa.Column('is_common_property', sa.Boolean(), nullable=True),
    sa.Column('version_guid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['house_guid'], ['houses.guid'], name=op.f('fk_premises_house_guid_houses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_premises')),
    sa.UniqueConstraint('guid', name=op.f('uq_premises_guid')),
    sa.UniqueConstraint('house_guid', 'kind', 'number', name=op.f('uq_premises_house_guid_kind_number')),
    )


def downgrade() -> None:
    op.drop_table('premises')
    op.drop_table('object_versions')
    op.drop_table('messages')
    op.drop_table('houses')
    op.drop_table('certificates')
    op.drop_table('organisations')
