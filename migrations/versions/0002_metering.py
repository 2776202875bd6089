"""Tenants (partners, clients, usage types, API keys) and append-only usage events.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import DecimalText, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_IMMUTABLE = "usage_event rows are immutable: correct with an adjustment event"
_ADJUSTS = (
    "usage_event: an adjustment must correct an original event of the same client and usage type"
)

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER usage_event_no_update BEFORE UPDATE ON usage_event
    BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END""",
    f"""CREATE TRIGGER usage_event_no_delete BEFORE DELETE ON usage_event
    BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END""",
    # No adjustment-consistency trigger here: any BEFORE INSERT trigger, even one whose WHEN
    # is false, halves SQLite's bulk insert rate. The service checks it; PostgreSQL re-checks.
]

_POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION usage_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '{_IMMUTABLE}' USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER usage_event_immutable BEFORE UPDATE OR DELETE ON usage_event
    FOR EACH ROW EXECUTE FUNCTION usage_event_refuse_change()""",
    f"""CREATE FUNCTION usage_event_check_adjustment() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM usage_event o WHERE o.id = NEW.adjusts_id
                     AND o.adjusts_id IS NULL AND o.partner_id = NEW.partner_id
                     AND o.client_id = NEW.client_id AND o.usage_type = NEW.usage_type) THEN
        RAISE EXCEPTION '{_ADJUSTS}' USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER usage_event_adjusts_original BEFORE INSERT ON usage_event
    FOR EACH ROW WHEN (NEW.adjusts_id IS NOT NULL)
    EXECUTE FUNCTION usage_event_check_adjustment()""",
]


def upgrade() -> None:
    op.create_table(
        "billing_partner",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("invoice_prefix", sa.String(length=20), nullable=False),
        sa.Column("branding", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "billing_client",
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            primary_key=True,
        ),
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("billing_email", sa.String(length=320), nullable=True),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("billing_anchor_day", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "external_ref"),
    )
    op.create_table(
        "billing_usage_type",
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            primary_key=True,
        ),
        sa.Column("code", sa.String(length=64), primary_key=True),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("precision", sa.Integer(), nullable=False),
        sa.Column("aggregation", sa.String(length=16), nullable=False),
        sa.Column("aggregation_property", sa.String(length=100), nullable=True),
        sa.Column("wholesale_rate", DecimalText(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "billing_api_key",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=True
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_billing_api_key_partner", "billing_api_key", ["partner_id"])
    op.create_table(
        "usage_event",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("usage_type", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("properties", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("wholesale_cost", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("adjusts_id", sa.Uuid(), sa.ForeignKey("usage_event.id"), nullable=True),
        sa.Column("body_hash", sa.String(length=32), nullable=False),
        sa.UniqueConstraint("partner_id", "event_id", name="uq_usage_event_partner_event"),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "usage_type"],
            ["billing_usage_type.partner_id", "billing_usage_type.code"],
        ),
        sa.CheckConstraint(
            "(source = 'adjustment') = (adjusts_id IS NOT NULL)",
            name="ck_usage_event_adjustment_link",
        ),
        sa.CheckConstraint(
            "source = 'adjustment' OR quantity >= 0", name="ck_usage_event_quantity_sign"
        ),
    )
    op.create_index(
        "ix_usage_event_client_time", "usage_event", ["partner_id", "client_id", "occurred_at"]
    )
    triggers = (
        _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("usage_event")
    op.drop_table("billing_api_key")
    op.drop_table("billing_usage_type")
    op.drop_table("billing_client")
    op.drop_table("billing_partner")
    if op.get_bind().dialect.name == "postgresql":
        for function in ("usage_event_refuse_change", "usage_event_check_adjustment"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
