"""Reconciliation: runs, their differences, imported wholesale bills.

Revision ID: 0014
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, DecimalText, UTCDateTime

revision = "0014"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconcile_run",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("partner_id", sa.String(64), sa.ForeignKey("billing_partner.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
    )
    op.create_index("ix_reconcile_run_partner", "reconcile_run", ["partner_id", "period"])
    op.create_table(
        "reconcile_difference",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("run_id", BigId, sa.ForeignKey("reconcile_run.id"), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("system", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("ours", sa.String(500), nullable=False),
        sa.Column("theirs", sa.String(500), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("action", sa.String(500), nullable=False),
        sa.Column("fixable", sa.Boolean(), nullable=False),
        sa.Column("fix", sa.JSON(), nullable=True),
        sa.Column("fixed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_reconcile_difference_run_id", "reconcile_difference", ["run_id"])
    op.create_table(
        "wholesale_bill_line",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("partner_id", sa.String(64), sa.ForeignKey("billing_partner.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("usage_type", sa.String(64), nullable=False),
        sa.Column("quantity", DecimalText(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "period", "usage_type"),
    )


def downgrade() -> None:
    op.drop_table("wholesale_bill_line")
    op.drop_index("ix_reconcile_difference_run_id", "reconcile_difference")
    op.drop_table("reconcile_difference")
    op.drop_index("ix_reconcile_run_partner", "reconcile_run")
    op.drop_table("reconcile_run")
