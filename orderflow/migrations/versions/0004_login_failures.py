"""login failures: the login throttle's counts per user name and client address

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orderflow.core.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', orderflow.core.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_key', ['kind', 'key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_at'))
        batch_op.drop_index('ix_login_failures_key')
    op.drop_table('login_failures')
