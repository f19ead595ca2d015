"""process drafts: the modeler's and form editor's unsaved work

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orderflow.core.models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('process_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('main_file', sa.String(length=300), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('process_drafts')
