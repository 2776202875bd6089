"""Partner webhooks (docs/webhooks.md): endpoints with encrypted secrets, the events sent, and
one delivery per (event, endpoint) on the work queue.

Revision ID: 0023_partner_webhooks
Revises: 0021_idempotency_keys
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0023_partner_webhooks"
down_revision = "0021_idempotency_keys"
branch_labels = None
depends_on = None


def _partner() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_webhook_endpoint_partner", "webhook_endpoint", ["partner_id"])
    op.create_table(
        "webhook_event",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "event_key", name="uq_webhook_event_key"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("event_id", BigId, sa.ForeignKey("webhook_event.id"), nullable=False),
        sa.Column("endpoint_id", BigId, sa.ForeignKey("webhook_endpoint.id"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery_event_endpoint"),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_delivery_endpoint", "webhook_delivery", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_endpoint", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_event")
    op.drop_index("ix_webhook_endpoint_partner", table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
