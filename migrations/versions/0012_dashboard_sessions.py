"""Dashboard sessions: one row per sign-in (SHA-256 of the cookie's token), revocable.

Revision ID: 0012_dashboard_sessions
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0012_dashboard_sessions"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("dashboard_user.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_dashboard_session_user", "dashboard_session", ["user_id"])


def downgrade() -> None:
    op.drop_table("dashboard_session")
