"""customer links, customer steps on tasks, the case category on instances

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 05:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orderflow.core.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('related_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_instances_related_id'), ['related_id'], unique=False)
        batch_op.create_foreign_key('fk_instances_related_id_instances', 'instances', ['related_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_step', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('completed_via', sa.String(length=20), nullable=True))
    op.create_table(
        'customer_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('secret_sha256', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=300), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('used_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', orderflow.core.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('secret_sha256'),
    )
    with op.batch_alter_table('customer_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_links_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_links_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_table('customer_links')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_column('completed_via')
        batch_op.drop_column('customer_step')
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_constraint('fk_instances_related_id_instances', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_instances_related_id'))
        batch_op.drop_column('related_id')
        batch_op.drop_column('category')
