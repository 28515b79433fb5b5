"""calls, call events and dialplan versions

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(128)),
        sa.Column("uniqueid", sa.String(64)),
        sa.Column("caller", sa.String(64)),
        sa.Column("caller_name", sa.String(128)),
        sa.Column("dialed", sa.String(64)),
        sa.Column("language", sa.String(16)),
        sa.Column("dialplan_id", sa.String(64)),
        sa.Column("dialplan_version", sa.Integer),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("queue", sa.String(64)),
        sa.Column("priority", sa.Integer),
        sa.Column("error_code", sa.String(64)),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_index("ix_calls_outcome", "calls", ["outcome"])
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("node", sa.String(64)),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_call_events_call_seq", "call_events", ["call_id", "seq"])
    op.create_table(
        "dialplan_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dialplan_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(256)),
        sa.UniqueConstraint("dialplan_id", "version"),
    )
    op.create_index("ix_dialplan_versions_dialplan_id", "dialplan_versions", ["dialplan_id"])


def downgrade() -> None:
    op.drop_table("dialplan_versions")
    op.drop_table("call_events")
    op.drop_table("calls")
