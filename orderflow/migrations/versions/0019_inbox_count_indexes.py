"""The inbox's quick-filter counts from indexes: (status, group_id, due_at) gains instance_id, so the
overdue and due-today counts read their tasks and join their orders without visiting the task rows,
and the customer's steps (a few of all tasks) get a partial index of their own, so counting a
group's "waiting on the customer" never walks every task of the group.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_human_tasks_inbox', table_name='human_tasks')
    op.create_index('ix_human_tasks_inbox', 'human_tasks', ['status', 'group_id', 'due_at', 'instance_id'])
    op.create_index('ix_human_tasks_customer_steps', 'human_tasks', ['status', 'group_id', 'instance_id'],
                    sqlite_where=sa.text('customer_step'), postgresql_where=sa.text('customer_step'))


def downgrade() -> None:
    op.drop_index('ix_human_tasks_customer_steps', table_name='human_tasks')
    op.drop_index('ix_human_tasks_inbox', table_name='human_tasks')
    op.create_index('ix_human_tasks_inbox', 'human_tasks', ['status', 'group_id', 'due_at'])
