"""`Idempotency-Key` on the API's creating POSTs: one row per (partner, key) with the first
request's answer (billing/idempotency). Builds on the partners table only.

Revision ID: 0021_idempotency_keys
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0021_idempotency_keys"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_idempotency_key",
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(length=255), primary_key=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("is_error", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_api_idempotency_key_created_at", "api_idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_idempotency_key_created_at", table_name="api_idempotency_key")
    op.drop_table("api_idempotency_key")
