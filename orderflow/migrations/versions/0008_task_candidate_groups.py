"""human_task_groups: every candidate group of a task, not only the first, may work on it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 16:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'human_task_groups',
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('task_id', 'group_id'),
    )
    with op.batch_alter_table('human_task_groups', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_groups_group', ['group_id', 'task_id'], unique=False)


def downgrade() -> None:
    op.drop_table('human_task_groups')
