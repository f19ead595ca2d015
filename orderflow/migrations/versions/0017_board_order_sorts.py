"""instances (<column>, id) for the board's order sorts (number, customer, total, promised date,
started): on PostgreSQL a page reads them in index order, in either direction, instead of
sorting every open order (0015 and 0016 did the same for the task sorts).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

INDEXES = {f"ix_instances_by_{column}": column
           for column in ("business_key", "customer", "order_total", "promised_date", "started_at")}


def upgrade() -> None:
    for name, column in INDEXES.items():
        op.create_index(name, 'instances', [column, 'id'], unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='instances')
