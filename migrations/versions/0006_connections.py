"""Connections to accounting systems (encrypted OAuth tokens) and pending consent states.

Revision ID: 0006_connections
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0006_connections"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector_connection",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_tenant", sa.String(length=64), nullable=True),
        sa.Column("remote_tenant_name", sa.String(length=200), nullable=True),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("access_expires_at", UTCDateTime(), nullable=True),
        sa.Column("refresh_expires_at", UTCDateTime(), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "name", name="uq_connector_connection_partner_name"),
    )
    op.create_index(
        "ix_connector_connection_partner", "connector_connection", ["partner_id", "provider"]
    )
    op.create_table(
        "connector_oauth_state",
        sa.Column("state", sa.String(length=64), primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("connection_name", sa.String(length=64), nullable=False),
        sa.Column("tenant_name", sa.String(length=200), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connector_oauth_state")
    op.drop_table("connector_connection")
