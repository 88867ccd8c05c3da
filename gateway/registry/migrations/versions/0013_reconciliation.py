"""Reconciliation (gateway.sync) and the audit trail.

Reconciliation: runs with their source and counts, discrepancies with a stable identity and an append-only
lifecycle, job locks (one run of a job at a time across processes and hosts), staging tables for reference
data compared with the registry by SQL, and APScheduler's job store. Audit: administrative actions, and a
bounded record of requests refused at the door (their digest, never their body).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.String(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apscheduler_jobs'))
    )
    op.create_index(op.f('ix_apscheduler_jobs_next_run_time'), 'apscheduler_jobs', ['next_run_time'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('origin', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_table('discrepancies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_guid', sa.String(length=64), nullable=False),
    sa.Column('house_guid', sa.String(length=36), nullable=True),
    sa.Column('fias_house_guid', sa.String(length=36), nullable=True),
    sa.Column('org_guid', sa.String(length=36), nullable=True),
    sa.Column('summary', sa.String(length=1000), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('suggested_fix', sa.JSON(), nullable=True),
    sa.Column('score', sa.Numeric(precision=6, scale=3), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_run', sa.String(length=36), nullable=False),
    sa.Column('last_run', sa.String(length=36), nullable=False),
    sa.Column('first_seen_at', TS, nullable=False),
    sa.Column('last_seen_at', TS, nullable=False),
    sa.Column('closed_at', TS, nullable=True),
    sa.Column('closed_by', sa.String(length=255), nullable=True),
    sa.Column('note', sa.String(length=2000), nullable=True),
    sa.Column('applied_changeset', SERIAL, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discrepancies')),
    sa.UniqueConstraint('identity', name=op.f('uq_discrepancies_identity'))
    )
    op.create_index('ix_discrepancies_house', 'discrepancies', ['fias_house_guid'], unique=False)
    op.create_index('ix_discrepancies_job_status', 'discrepancies', ['job', 'status'], unique=False)
    op.create_index('ix_discrepancies_org', 'discrepancies', ['org_guid'], unique=False)
    op.create_index('ix_discrepancies_status_kind', 'discrepancies', ['status', 'kind'], unique=False)
    op.create_table('door_refusals',
    sa.Column('id', SERIAL, autoincrement=True, nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.Column('peer', sa.String(length=64), nullable=True),
    sa.Column('claimed_org', sa.String(length=64), nullable=True),
    sa.Column('operation', sa.String(length=64), nullable=True),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=True),
    sa.Column('body_bytes', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_door_refusals'))
    )
    op.create_index(op.f('ix_door_refusals_at'), 'door_refusals', ['at'], unique=False)
    op.create_table('job_locks',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('holder', sa.String(length=255), nullable=False),
    sa.Column('acquired_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_locks'))
    )
    op.create_table('reconciliation_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('scheduled_for', TS, nullable=True),
    sa.Column('triggered_by', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=True),
    sa.Column('source_location', sa.String(length=1000), nullable=True),
    sa.Column('source_version', sa.String(length=255), nullable=True),
    sa.Column('source_description', sa.JSON(), nullable=True),
    sa.Column('started_at', TS, nullable=False),
    sa.Column('finished_at', TS, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('issues', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_runs')),
    sa.UniqueConstraint('job', 'scheduled_for', name=op.f('uq_reconciliation_runs_job_scheduled_for'))
    )
    op.create_index('ix_reconciliation_runs_job_started', 'reconciliation_runs', ['job', 'started_at'], unique=False)
    op.create_table('staging_egrn',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('cad_number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_cad_number', sa.String(length=40), nullable=True),
    sa.Column('number', sa.String(length=50), nullable=True),
    sa.Column('area', sa.Numeric(precision=25, scale=4), nullable=True),
    sa.Column('residential', sa.Boolean(), nullable=True),
    sa.Column('purpose', sa.String(length=255), nullable=True),
    sa.Column('address', sa.String(length=1000), nullable=True),
    sa.Column('file', sa.String(length=1000), nullable=False),
    sa.Column('line', sa.Integer(), nullable=True)
    )
    op.create_index('ix_staging_egrn_run_cad', 'staging_egrn', ['run_id', 'cad_number'], unique=False)
    op.create_index('ix_staging_egrn_run_parent', 'staging_egrn', ['run_id', 'parent_cad_number', 'number'], unique=False)
    op.create_table('staging_gar_apartments',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False)
    )
    op.create_index('ix_staging_gar_apartments_run_object', 'staging_gar_apartments', ['run_id', 'object_id'], unique=False)
    op.create_table('staging_gar_hierarchy',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_object_id', sa.BigInteger(), nullable=False)
    )
    op.create_index('ix_staging_gar_hierarchy_run_parent', 'staging_gar_hierarchy', ['run_id', 'parent_object_id'], unique=False)
    op.create_table('staging_gar_houses',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('object_guid', sa.String(length=36), nullable=False),
    sa.Column('row_id', sa.BigInteger(), nullable=False),
    sa.Column('next_row_id', sa.BigInteger(), nullable=True),
    sa.Column('is_actual', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True)
    )
    op.create_index('ix_staging_gar_houses_run_guid', 'staging_gar_houses', ['run_id', 'object_guid'], unique=False)
    op.create_index('ix_staging_gar_houses_run_row', 'staging_gar_houses', ['run_id', 'row_id'], unique=False)
    op.create_table('staging_gar_params',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('owner', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False)
    )
    op.create_index('ix_staging_gar_params_run_object', 'staging_gar_params', ['run_id', 'object_id', 'type_id'], unique=False)
    op.create_table('staging_licences',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=1), nullable=False),
    sa.Column('ogrn', sa.String(length=15), nullable=True),
    sa.Column('fias_house_guid', sa.String(length=36), nullable=True),
    sa.Column('house_from', sa.Date(), nullable=True),
    sa.Column('house_to', sa.Date(), nullable=True)
    )
    op.create_index('ix_staging_licences_run_ogrn', 'staging_licences', ['run_id', 'ogrn'], unique=False)
    op.create_table('discrepancy_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('discrepancy_id', sa.String(length=36), nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['discrepancy_id'], ['discrepancies.id'], name=op.f('fk_discrepancy_events_discrepancy_id_discrepancies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discrepancy_events'))
    )
    op.create_index(op.f('ix_discrepancy_events_discrepancy_id'), 'discrepancy_events', ['discrepancy_id'], unique=False)
    op.create_table('run_issues',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('file', sa.String(length=1000), nullable=False),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('message', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_runs.id'], name=op.f('fk_run_issues_run_id_reconciliation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_issues'))
    )
    op.create_index(op.f('ix_run_issues_run_id'), 'run_issues', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_table("run_issues")
    op.drop_table("discrepancy_events")
    op.drop_table("staging_licences")
    op.drop_table("staging_gar_params")
    op.drop_table("staging_gar_houses")
    op.drop_table("staging_gar_hierarchy")
    op.drop_table("staging_gar_apartments")
    op.drop_table("staging_egrn")
    op.drop_table("reconciliation_runs")
    op.drop_table("job_locks")
    op.drop_table("door_refusals")
    op.drop_table("discrepancies")
    op.drop_table("audit_log")
    op.drop_table("apscheduler_jobs")
