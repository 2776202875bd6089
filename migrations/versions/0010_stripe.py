"""Stripe: partner accounts (encrypted keys), customers per client, one charge series per
invoice with its dunning state, and received webhook events (unique per account and id).

Revision ID: 0010_stripe
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0010_stripe"
down_revision = "0005"
branch_labels = None
depends_on = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _account() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "account_id", sa.String(length=32), sa.ForeignKey("stripe_account.id"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "stripe_account",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("secret_key_enc", sa.Text(), nullable=False),
        sa.Column("webhook_secret_enc", sa.Text(), nullable=False),
        sa.Column("api_base", sa.String(length=500), nullable=True),
        sa.Column("dunning_days", sa.JSON(), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
    )
    op.create_table(
        "stripe_customer",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        _account(),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("card_brand", sa.String(length=32), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("card_exp_month", sa.Integer(), nullable=True),
        sa.Column("card_exp_year", sa.Integer(), nullable=True),
        sa.Column("auto_charge", sa.Boolean(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        sa.UniqueConstraint("partner_id", "client_id", name="uq_stripe_customer_client"),
        sa.UniqueConstraint("account_id", "customer_id", name="uq_stripe_customer_remote"),
    )
    op.create_table(
        "stripe_charge",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False, unique=True),
        _account(),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        _stamp("next_attempt_at", nullable=True),
        _stamp("first_failed_at", nullable=True),
        sa.Column("last_decline_code", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("action_url", sa.Text(), nullable=True),
        sa.Column("payment_id", BigId, nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
    )
    op.create_index("ix_stripe_charge_due", "stripe_charge", ["status", "next_attempt_at"])
    op.create_index("ix_stripe_charge_payment_intent_id", "stripe_charge", ["payment_intent_id"])
    op.create_table(
        "stripe_event",
        sa.Column("id", BigId, primary_key=True),
        _account(),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _stamp("received_at"),
        _stamp("processed_at", nullable=True),
        sa.UniqueConstraint("account_id", "event_id", name="uq_stripe_event_id"),
    )
    op.create_index("ix_stripe_event_status", "stripe_event", ["status", "received_at"])


def downgrade() -> None:
    op.drop_table("stripe_event")
    op.drop_index("ix_stripe_charge_payment_intent_id", table_name="stripe_charge")
    op.drop_index("ix_stripe_charge_due", table_name="stripe_charge")
    op.drop_table("stripe_charge")
    op.drop_table("stripe_customer")
    op.drop_table("stripe_account")
