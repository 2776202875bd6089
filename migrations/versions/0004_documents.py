"""Mail outbox: rendered messages waiting to be sent, with their delivery state.

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outgoing_email",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("related_id", sa.String(length=200), nullable=True),
        sa.Column("to_address", sa.String(length=998), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=False, unique=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_outgoing_email_due", "outgoing_email", ["status", "next_attempt_at"])
    op.create_index(
        "ix_outgoing_email_related", "outgoing_email", ["partner_id", "kind", "related_id"]
    )


def downgrade() -> None:
    op.drop_table("outgoing_email")
