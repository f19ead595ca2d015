"""signatures and an append-only audit: electronic signatures, each order's audit-chain head,
and on PostgreSQL triggers refusing UPDATE/DELETE/TRUNCATE of audit events and signatures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orderflow.core.models
from orderflow.core.audit import APPEND_ONLY_TABLES, POSTGRES_APPEND_ONLY_DDL

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_heads',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=True),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id')
    )
    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('signer', sa.String(length=64), nullable=False),
    sa.Column('printed_name', sa.String(length=200), nullable=False),
    sa.Column('meaning', sa.String(length=300), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('signed_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('audit_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_event_id'], ['audit_events.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index('ix_signatures_instance', ['instance_id', 'element_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # idempotent statements, kept in orderflow/audit.py
        for statement in POSTGRES_APPEND_ONLY_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
        op.execute('DROP FUNCTION IF EXISTS orderflow_append_only()')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_instance')
    op.drop_table('signatures')
    op.drop_table('audit_heads')
