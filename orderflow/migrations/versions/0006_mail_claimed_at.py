"""mails: when a sender claimed each one, so a mail stuck in 'sending' after a crash is sent again

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orderflow.core.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
