"""FreshBooks: the webhook callbacks we verified, with their encrypted verifier (the HMAC key
of later deliveries).

Revision ID: 0011_freshbooks
Revises: 0006_connections
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import UTCDateTime

revision = "0011_freshbooks"
down_revision = "0006_connections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "freshbooks_callback",
        sa.Column("account_id", sa.String(length=64), primary_key=True),
        sa.Column("callback_id", sa.String(length=32), primary_key=True),
        sa.Column(
            "connection_id",
            sa.String(length=32),
            sa.ForeignKey("connector_connection.id"),
            nullable=False,
        ),
        sa.Column("event", sa.String(length=100), nullable=True),
        sa.Column("verifier_enc", sa.Text(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("freshbooks_callback")
