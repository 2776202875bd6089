"""Dashboard users: e-mail, scrypt password hash, role (operator | partner), partner, disabled.

Revision ID: 0008
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=True
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_dashboard_user_partner", "dashboard_user", ["partner_id"])


def downgrade() -> None:
    op.drop_table("dashboard_user")
