"""instance_state_deltas: a step stores what it changed in the engine state after the state in
instance_states (the base) instead of the whole state again (orderflow/engine/store.py, store_step).
Existing states are bases without deltas. The downgrade folds every instance's deltas into its base.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 19:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instance_state_deltas',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('delta', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'seq'),
    )


def downgrade() -> None:
    from orderflow.engine import store  # the format's reader, to fold the deltas (as the service loads them)
    conn = op.get_bind()
    states = sa.table('instance_states', sa.column('instance_id', sa.Integer), sa.column('state', sa.Text))
    deltas = sa.table('instance_state_deltas', sa.column('instance_id', sa.Integer), sa.column('seq', sa.Integer),
                      sa.column('delta', sa.Text))
    ids = conn.execute(sa.select(deltas.c.instance_id).distinct()).scalars().all()
    for instance_id in ids:
        base = conn.execute(sa.select(states.c.state).where(states.c.instance_id == instance_id)).scalar_one()
        more = conn.execute(sa.select(deltas.c.delta).where(deltas.c.instance_id == instance_id)
                            .order_by(deltas.c.seq)).scalars().all()
        whole = store.as_json(store.compose(base, list(more)))   # plain JSON: every release loads it
        conn.execute(sa.update(states).where(states.c.instance_id == instance_id).values(state=whole))
    op.drop_table('instance_state_deltas')
