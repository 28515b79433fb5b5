"""Indexes for the hot lookups (issue 19 item 7): a caller's recent calls

Customer by phone (``ix_customers_phone``, 0002) and transaction by id (the primary key,
0007) already have theirs; tests/store/test_hot_indexes.py checks all three with EXPLAIN.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_calls_caller_started_at", "calls", ["caller", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_caller_started_at", table_name="calls")
