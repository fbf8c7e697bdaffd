"""Districts: updated_at, part of the district index's fingerprint (existing rows get the migration's time).

Revision ID: 314acecf2970
Revises: 504274d56e9a
Create Date: 2026-11-29 04:57:40.007119
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.models

revision: str = '314acecf2970'
down_revision: str | None = '504274d56e9a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added nullable, filled, then made NOT NULL: the same steps on SQLite (batch) and PostgreSQL.
    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', core.models.UTCDateTime(timezone=True), nullable=True))
    district = sa.table('district', sa.column('updated_at', core.models.UTCDateTime(timezone=True)))
    op.execute(district.update().values(updated_at=datetime.now(UTC)))
    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=core.models.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
