"""instance_states: the engine state leaves the instances row for its own table, and
instances.state_token names the state stored (a worker's kept live workflow is current exactly
while the tokens agree, so a step need not read the state to know). Existing states move over as
they are; each instance gets a token.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _token() -> str:
    """A random 32-hex-digit value per row, in SQL."""
    if op.get_bind().dialect.name == "postgresql":
        return "md5(random()::text || clock_timestamp()::text || id::text)"
    return "lower(hex(randomblob(16)))"


def upgrade() -> None:
    op.create_table(
        'instance_states',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id'),
    )
    op.execute("INSERT INTO instance_states (instance_id, state) SELECT id, state FROM instances")
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_token', sa.String(length=32), nullable=True))
    op.execute(f"UPDATE instances SET state_token = {_token()}")
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('state')


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.Text(), nullable=False, server_default=''))
    op.execute("UPDATE instances SET state = COALESCE((SELECT s.state FROM instance_states s "
               "WHERE s.instance_id = instances.id), '')")
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)
        batch_op.drop_column('state_token')
    op.drop_table('instance_states')
