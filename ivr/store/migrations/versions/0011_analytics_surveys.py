"""Analytics and post-call surveys (issue 16): per-call facts on ``calls`` (intent,
escalated, ivr_seconds), running totals per local day (``analytics_days``) and
``surveys``. Calls finished before this version are not in the totals.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("intent", sa.String(32), nullable=True))
        batch.add_column(sa.Column("escalated", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("ivr_seconds", sa.Float(), nullable=True))
    op.create_table(
        "analytics_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("dialplan_id", sa.String(64), primary_key=True),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("metric", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_surveys_call_id", "surveys", ["call_id"])


def downgrade() -> None:
    op.drop_table("surveys")
    op.drop_table("analytics_days")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("ivr_seconds")
        batch.drop_column("escalated")
        batch.drop_column("intent")
