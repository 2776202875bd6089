"""Invoice lines record which part of their origin period a prior-period adjustment changes.

A late event re-rates the whole origin period, so its adjustment can change the usage of a
usage type, the base fee, the minimum-spend true-up and the discount of that period. `adjusts`
names that line kind (NULL on every other line, and on adjustments made before it existed,
which were all usage adjustments), so the issue entry books each part to its own account and
the next adjustment knows what was already billed of each.

Revision ID: 0015_adjustment_component
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_adjustment_component"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoice_line", sa.Column("adjusts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_line") as batch:
        batch.drop_column("adjusts")
