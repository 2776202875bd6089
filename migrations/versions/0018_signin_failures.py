"""Failed dashboard sign-ins, counted in the database so that every API process throttles alike.

Revision ID: 0018_signin_failures
Revises: 0012_dashboard_sessions
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0018_signin_failures"
down_revision = "0012_dashboard_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_signin_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_dashboard_signin_failure_key", "dashboard_signin_failure", ["key_hash", "failed_at"]
    )
    op.create_index("ix_dashboard_signin_failure_at", "dashboard_signin_failure", ["failed_at"])


def downgrade() -> None:
    op.drop_table("dashboard_signin_failure")
