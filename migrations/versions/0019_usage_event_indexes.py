"""Usage events keep one index for rating and the audit trail: `ix_usage_event_client_time` goes.

Every query it served is served by a prefix of rating's covering index
`ix_usage_event_rating` (partner, client, usage type, occurred_at, ...): a client's events in a
window, late events of a list of clients, a client's page of the audit trail. Each index on
usage events is one more B-tree that every ingested event lands in at a random place (they are
ordered by client, not by arrival); this one cost bulk ingestion on SQLite about 1.35x, and more
as the table grows past the page cache (bench/ingest.py).

Revision ID: 0019_usage_event_indexes
Revises: 0003
"""

from alembic import op

revision = "0019_usage_event_indexes"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_usage_event_client_time", table_name="usage_event")


def downgrade() -> None:
    op.create_index(
        "ix_usage_event_client_time", "usage_event", ["partner_id", "client_id", "occurred_at"]
    )
