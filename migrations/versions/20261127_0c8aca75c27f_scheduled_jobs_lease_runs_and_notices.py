"""Scheduled work: the schedule's lease, job runs, notices sent once, (recipient, id) indexes on the outbox.

Revision ID: 0c8aca75c27f
Revises: 9ac803be5877
Create Date: 2026-11-27 23:12:36.851454
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models  # noqa: F401  (custom column types)

revision: str = '0c8aca75c27f'
down_revision: str | None = '9ac803be5877'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('started_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', core.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run'))
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job_started_at', ['job', 'started_at'], unique=False)

    op.create_table('scheduler_lease',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('expires_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acquired_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lease'))
    )
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('recipient', sa.String(length=40), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_notice_resident_id_resident'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('kind', 'subject', 'recipient', name='uq_notice_kind_subject_recipient')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_resident_id'), ['resident_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_resident_id_id', ['resident_id', 'id'], unique=False)
        batch_op.create_index('ix_outbox_staff_chat_id_id', ['staff_chat_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_staff_chat_id_id')
        batch_op.drop_index('ix_outbox_resident_id_id')

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_resident_id'))

    op.drop_table('notice')
    op.drop_table('scheduler_lease')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_job_started_at')

    op.drop_table('job_run')
