"""`portal_link`: the links to the client portal, for revocation and scope (billing/portal).

Revision ID: 0022_portal_links
Revises: 0021_idempotency_keys (and needs 0005, the invoice table)
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0022_portal_links"
down_revision = "0021_idempotency_keys"
branch_labels = None
depends_on = "0005"  # the invoice table (0021 alone brings only partners and clients)


def upgrade() -> None:
    op.create_table(
        "portal_link",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
    )
    op.create_index("ix_portal_link_client", "portal_link", ["partner_id", "client_id"])
    op.create_index("ix_portal_link_invoice", "portal_link", ["invoice_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_link_invoice", table_name="portal_link")
    op.drop_index("ix_portal_link_client", table_name="portal_link")
    op.drop_table("portal_link")
