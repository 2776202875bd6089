"""Price books (plans, prices, client terms, versioned), the change log, accrual state.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import DecimalText, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SOURCE = sa.String(length=8)


def upgrade() -> None:
    op.create_table(
        "pricing_plan",
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            primary_key=True,
        ),
        sa.Column("code", sa.String(length=80), primary_key=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "pricing_plan_version",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("plan_code", sa.String(length=80), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("base_fee", DecimalText(), nullable=False),
        sa.Column("minimum_spend", DecimalText(), nullable=True),
        sa.Column("source", _SOURCE, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "plan_code", "effective_from"),
        sa.ForeignKeyConstraint(
            ["partner_id", "plan_code"], ["pricing_plan.partner_id", "pricing_plan.code"]
        ),
    )
    op.create_table(
        "pricing_price_version",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("usage_type", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("price", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("source", _SOURCE, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "scope", "owner", "usage_type", "effective_from"),
        sa.ForeignKeyConstraint(
            ["partner_id", "usage_type"],
            ["billing_usage_type.partner_id", "billing_usage_type.code"],
        ),
    )
    op.create_table(
        "pricing_client_terms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("plan_code", sa.String(length=80), nullable=True),
        sa.Column("custom_plan", sa.Boolean(), nullable=False),
        sa.Column("discount_percent", DecimalText(), nullable=False),
        sa.Column("tax_name", sa.String(length=200), nullable=True),
        sa.Column("tax_percent", DecimalText(), nullable=True),
        sa.Column("auto_charge", sa.Boolean(), nullable=False),
        sa.Column("source", _SOURCE, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "client_id", "effective_from"),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
    )
    op.create_table(
        "pricing_client_dates",
        sa.Column("partner_id", sa.String(length=64), primary_key=True),
        sa.Column("client_id", sa.String(length=64), primary_key=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
    )
    op.create_table(
        "pricing_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("source", _SOURCE, nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
    )
    op.create_index(
        "ix_pricing_change_partner_time", "pricing_change", ["partner_id", "changed_at"]
    )
    op.create_index(
        "ix_usage_event_rating",
        "usage_event",
        [
            "partner_id",
            "client_id",
            "usage_type",
            "occurred_at",
            "quantity",
            "received_at",
            "adjusts_id",
        ],
    )
    op.create_table(
        "pricing_accrual",
        sa.Column("partner_id", sa.String(length=64), primary_key=True),
        sa.Column("client_id", sa.String(length=64), primary_key=True),
        sa.Column("usage_type", sa.String(length=64), primary_key=True),
        sa.Column("period_start", sa.Date(), primary_key=True),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cost_currency", sa.String(length=3), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("accruals", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_usage_event_rating", table_name="usage_event")
    for table in (
        "pricing_accrual",
        "pricing_change",
        "pricing_client_dates",
        "pricing_client_terms",
        "pricing_price_version",
        "pricing_plan_version",
        "pricing_plan",
    ):
        op.drop_table(table)
