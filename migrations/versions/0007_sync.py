"""Sync: the outbox, the fan-out cursor and the external-reference table.

Revision ID: 0007_sync
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0007_sync"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("billing_event_id", BigId, sa.ForeignKey("billing_event.id"), nullable=False),
        sa.Column("op", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=120), nullable=False),
        sa.Column("our_id", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("billing_event_id", "connection_id", "op", name="uq_sync_outbox_event"),
    )
    op.create_index("ix_sync_outbox_due", "sync_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_sync_outbox_subject", "sync_outbox", ["connection_id", "subject_id", "id"])
    op.create_table(
        "sync_cursor",
        sa.Column("connection_id", sa.String(length=64), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", BigId, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sync_external_ref",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("our_id", sa.String(length=120), nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=False),
        sa.Column("remote_version", sa.String(length=200), nullable=True),
        sa.Column("remote_number", sa.String(length=200), nullable=True),
        sa.Column("sent_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("connection_id", "kind", "our_id", name="uq_sync_external_ref"),
    )


def downgrade() -> None:
    op.drop_table("sync_external_ref")
    op.drop_table("sync_cursor")
    op.drop_index("ix_sync_outbox_subject", table_name="sync_outbox")
    op.drop_index("ix_sync_outbox_due", table_name="sync_outbox")
    op.drop_table("sync_outbox")
