"""The books record the service period of a posting: the first day of the client's billing
period the revenue or cost belongs to (NULL for postings that belong to no period).

A new nullable column needs no rewrite of posted rows, so the immutability triggers stay as
they are; books posted before it are re-tagged by `ledger retag-periods`, which reverses and
re-posts entries instead of editing them.

Revision ID: 0015_service_period
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_service_period"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_posting", sa.Column("service_period", sa.Date(), nullable=True))
    op.create_index(
        "ix_ledger_posting_period",
        "ledger_posting",
        ["partner_id", "service_period", "account_id", "client_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_posting_period", table_name="ledger_posting")
    with op.batch_alter_table("ledger_posting") as batch:
        batch.drop_column("service_period")
