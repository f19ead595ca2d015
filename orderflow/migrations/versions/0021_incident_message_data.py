"""incidents.message_data: an incident's message as its key and parameters (core.i18n.to_data), so
the order page and the API show it in each reader's language; message keeps the English text.
Incidents opened before have none and show their English text.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 21:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents') as batch:
        batch.add_column(sa.Column('message_data', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidents') as batch:
        batch.drop_column('message_data')
