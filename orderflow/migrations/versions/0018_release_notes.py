"""process_versions.note: the release note a process owner writes when deploying a version.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_versions') as batch:
        batch.add_column(sa.Column('note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_versions') as batch:
        batch.drop_column('note')
