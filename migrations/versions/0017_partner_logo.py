"""Partner logos: uploaded, checked images stored in the database (never a server path).

Revision ID: 0017_partner_logo
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0017_partner_logo"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_partner_logo",
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            primary_key=True,
        ),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("billing_partner_logo")
