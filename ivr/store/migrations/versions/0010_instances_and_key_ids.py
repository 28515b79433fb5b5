"""instances (a lease per running server), recording_keys (which key ids exist, no key
material) and, on PostgreSQL, a NOTIFY on ivr_dialplans when a version is published:
several servers sharing one database (issue 19 items 1 and 4)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("host", sa.String(128)),
    )
    op.create_table(
        "recording_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(64)),
    )
    if op.get_bind().dialect.name == "postgresql":
        # In the database, so every publisher (ivr serve, the CLI, a rollback) notifies.
        op.execute("CREATE FUNCTION ivr_dialplans_notify() RETURNS trigger AS $$ "
                   "BEGIN PERFORM pg_notify('ivr_dialplans', ''); RETURN NULL; END $$ "
                   "LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER ivr_dialplans_published AFTER INSERT ON dialplan_versions "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ivr_dialplans_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ivr_dialplans_published ON dialplan_versions")
        op.execute("DROP FUNCTION IF EXISTS ivr_dialplans_notify()")
    op.drop_table("recording_keys")
    op.drop_table("instances")
