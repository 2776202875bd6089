"""Reconciliation differences say what they are about in names: the system's name as people
call it, the invoice (id, number, issue date), the client (id, name) and the usage type.

Nullable: runs stored before keep reading from their `system` and `subject` texts.

Revision ID: 0016_reconcile_names
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_reconcile_names"
down_revision = "0014"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("system_name", sa.String(200)),
    ("invoice_id", sa.BigInteger()),
    ("invoice_number", sa.String(40)),
    ("client_id", sa.String(64)),
    ("client_name", sa.String(200)),
    ("usage_type", sa.String(64)),
    ("issue_date", sa.Date()),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("reconcile_difference", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reconcile_difference") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
