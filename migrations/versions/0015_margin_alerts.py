"""Margin alerts: what was sent, per client and billing period and per partner and day.

Revision ID: 0015_margin_alerts
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0015_margin_alerts"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "margin_alert_digest",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("partner_id", sa.String(64), sa.ForeignKey("billing_partner.id"), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.String(2000), nullable=False),
        sa.Column("email_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "local_day", name="uq_margin_digest_day"),
    )
    op.create_table(
        "margin_alert",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("partner_id", sa.String(64), sa.ForeignKey("billing_partner.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("reasons", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("margin_percent", sa.String(20), nullable=True),
        sa.Column("previous_percent", sa.String(20), nullable=True),
        sa.Column("digest_id", BigId, sa.ForeignKey("margin_alert_digest.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "client_id", "period_start", name="uq_margin_alert"),
    )
    op.create_index("ix_margin_alert_digest", "margin_alert", ["digest_id"])


def downgrade() -> None:
    op.drop_table("margin_alert")
    op.drop_table("margin_alert_digest")
