"""verification: one-time codes, lockouts, risk decisions (issue: caller verification)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(32),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("first6", sa.String(6), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_cards_customer_id", "cards", ["customer_id"])
    op.create_table(
        "customer_facts",
        sa.Column("customer_id", sa.String(32),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("birth_date", sa.String(8)),
    )
    op.create_table(
        "verify_counters",
        sa.Column("customer_id", sa.String(32), primary_key=True),
        sa.Column("factor", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("locked_until", TZ),
        sa.Column("last_locked_at", TZ),
    )
    op.create_table(
        "otp_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
        sa.Column("call_id", sa.String(32)),
    )
    op.create_index("ix_otp_codes_customer_id", "otp_codes", ["customer_id"])
    op.create_table(
        "otp_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("sink", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("otp_id", sa.Integer),
    )
    op.create_index("ix_otp_outbox_at", "otp_outbox", ["at"])
    op.create_index("ix_otp_outbox_customer_id", "otp_outbox", ["customer_id"])
    op.create_table(
        "phone_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("old_phone", sa.String(32), nullable=False),
        sa.Column("new_phone", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rules_fired", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("call_id", sa.String(32)),
        sa.Column("channel", sa.String(64)),
    )
    op.create_index("ix_phone_changes_at", "phone_changes", ["at"])
    op.create_index("ix_phone_changes_customer_id", "phone_changes", ["customer_id"])


def downgrade() -> None:
    for table in ("phone_changes", "otp_outbox", "otp_codes", "verify_counters",
                  "customer_facts", "cards"):
        op.drop_table(table)
