"""caller turns: transcript, engine, confidence and timings (issue: speech)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("node", sa.String(64)),
        sa.Column("attempt", sa.Integer),
        sa.Column("language", sa.String(16)),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("transcript", sa.Text),
        sa.Column("engine", sa.String(16)),
        sa.Column("confidence", sa.Float),
        sa.Column("audio_seconds", sa.Float),
        sa.Column("decode_ms", sa.Float),
        sa.Column("end_to_final_ms", sa.Float),
        sa.Column("barged_in", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error_code", sa.String(64)),
    )
    op.create_index("ix_turns_call_seq", "turns", ["call_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_turns_call_seq", table_name="turns")
    op.drop_table("turns")
