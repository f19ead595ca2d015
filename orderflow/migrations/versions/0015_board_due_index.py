"""human_tasks (status, due_at, instance_id, id): the board's default order, open tasks by due
time, read in index order on PostgreSQL instead of sorting every open task for each page.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_human_tasks_board_due', 'human_tasks', ['status', 'due_at', 'instance_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_human_tasks_board_due', table_name='human_tasks')
