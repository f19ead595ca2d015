"""human_tasks.rollup_pending: completions the analytics roll-up has not counted yet (counted in the
background and before a report reads, no longer inside the step's request). Rows already completed
were counted when they completed: they start as counted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rollup_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_human_tasks_rollup_pending', ['id'], unique=False,
                              sqlite_where=sa.text('rollup_pending'), postgresql_where=sa.text('rollup_pending'))


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_rollup_pending', sqlite_where=sa.text('rollup_pending'),
                            postgresql_where=sa.text('rollup_pending'))
        batch_op.drop_column('rollup_pending')
