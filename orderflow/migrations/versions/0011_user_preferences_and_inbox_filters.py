"""users.time_zone and users.preferences; saved_filters.page (board or inbox) and group_id (shared
with one group)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('preferences', sa.JSON(), nullable=True))
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('page', sa.String(length=20), server_default='board', nullable=False))
        batch_op.add_column(sa.Column('group_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.drop_column('group_id')
        batch_op.drop_column('page')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('preferences')
        batch_op.drop_column('time_zone')
