"""Payments: payments against invoices, refunds, payouts and disputes.

Each is unique per partner on the id its source gave it (payments also per source and
connection), so a replayed webhook or a repeated read-back is found, never added twice.

Revision ID: 0009_payments
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0009_payments"
down_revision = "0005"
branch_labels = None
depends_on = None


def _partner() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
    )


def _money(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _entry(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, BigId, sa.ForeignKey("ledger_entry.id"), nullable=True)


def _stamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "billing_payment",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("amount_minor"),
        _money("fee_minor"),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=True),
        sa.Column("connection_key", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=True),
        _stamp("received_at"),
        _money("refunded_minor"),
        _money("disputed_minor"),
        _entry("ledger_entry_id"),
        _stamp("created_at"),
        sa.UniqueConstraint(
            "partner_id", "source", "connection_key", "external_id", name="uq_billing_payment_ext"
        ),
    )
    op.create_index("ix_billing_payment_invoice_id", "billing_payment", ["invoice_id"])
    op.create_table(
        "billing_refund",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("payment_id", BigId, sa.ForeignKey("billing_payment.id"), nullable=False),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("amount_minor"),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        _stamp("refunded_at"),
        sa.Column("credit_note_id", BigId, sa.ForeignKey("credit_note.id"), nullable=True),
        _entry("ledger_entry_id"),
        _stamp("created_at"),
        sa.UniqueConstraint("partner_id", "external_id", name="uq_billing_refund_ext"),
    )
    op.create_index("ix_billing_refund_payment_id", "billing_refund", ["payment_id"])
    op.create_table(
        "billing_payout",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("amount_minor"),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        _stamp("arrived_at"),
        _entry("ledger_entry_id"),
        _stamp("created_at"),
        sa.UniqueConstraint("partner_id", "external_id", name="uq_billing_payout_ext"),
    )
    op.create_table(
        "billing_dispute",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("payment_id", BigId, sa.ForeignKey("billing_payment.id"), nullable=False),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("amount_minor"),
        _money("fee_minor"),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        _stamp("opened_at"),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        _entry("withdrawal_entry_id"),
        _entry("reinstatement_entry_id"),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.UniqueConstraint("partner_id", "external_id", name="uq_billing_dispute_ext"),
    )
    op.create_index("ix_billing_dispute_payment_id", "billing_dispute", ["payment_id"])


def downgrade() -> None:
    for table in ("billing_dispute", "billing_payout", "billing_refund", "billing_payment"):
        op.drop_table(table)
