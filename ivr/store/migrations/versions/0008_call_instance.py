"""calls.instance_id: which server instance took the call (issue 13: calls left open)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): SQLite would rebuild calls, and the rebuild's
    # DROP TABLE would cascade to every call's events.
    op.add_column("calls", sa.Column("instance_id", sa.String(64)))
    op.create_index("ix_calls_instance_id", "calls", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_calls_instance_id", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("instance_id")
