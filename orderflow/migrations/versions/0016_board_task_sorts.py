"""human_tasks (status, <column>, instance_id, id) for the board's other task sorts (waiting
since, step, group, assignee): on PostgreSQL a page reads them in index order, in either
direction, instead of sorting every open task (0015 did the same for the due time).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 13:30:00
"""
from __future__ import annotations

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

INDEXES = {"ix_human_tasks_board_ready_at": "ready_at", "ix_human_tasks_board_step": "element_id",
           "ix_human_tasks_board_group": "group_id", "ix_human_tasks_board_assignee": "assignee"}


def upgrade() -> None:
    for name, column in INDEXES.items():
        op.create_index(name, 'human_tasks', ['status', column, 'instance_id', 'id'], unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='human_tasks')
