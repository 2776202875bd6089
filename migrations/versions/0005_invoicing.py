"""Invoicing: invoices, lines, usage billed, credit notes, number sequences, billing events.

The database guards what must never change, whatever the code above does:
- an issued invoice's number, amounts, dates and terms are frozen; only its payment state,
  credited amount and void/uncollectible marks may move, and a voided invoice is final;
- the lines and usage rows of an issued invoice cannot be added, changed or deleted;
- an issued invoice cannot be deleted;
- credit notes, their lines and billing events are append-only.

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, DecimalText, UTCDateTime

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

_OPEN = "('draft', 'approved')"
# Columns of an issued invoice that never change (status, amount_paid_minor, credited_minor,
# voided_at, void_reason, uncollectible_at, closing_entry_id, version and updated_at may).
_FROZEN = (
    "partner_id",
    "client_id",
    "number",
    "currency",
    "period_start",
    "period_end",
    "period_start_at",
    "period_end_at",
    "timezone",
    "plan_name",
    "subtotal_minor",
    "discount_minor",
    "tax_minor",
    "total_minor",
    "discount_percent",
    "tax_name",
    "tax_percent",
    "cost_minor",
    "cost_currency",
    "auto_charge",
    "watermark",
    "usage_events",
    "approved_at",
    "approved_by",
    "issued_at",
    "issue_date",
    "due_at",
    "net_terms_days",
    "ledger_entry_id",
)
_APPEND_ONLY = ("credit_note", "credit_note_line", "billing_event")
_CHILDREN = ("invoice_line", "invoice_usage")

_FROZEN_MESSAGE = "invoice: an issued invoice is frozen; correct it with a credit note or void"
_CHILD_MESSAGE = "lines and usage of an issued invoice are frozen"


def _sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FROZEN)
    statements = [
        f"""CREATE TRIGGER invoice_frozen BEFORE UPDATE ON invoice
        WHEN OLD.status NOT IN {_OPEN} AND ({changed} OR OLD.status = 'void'
             OR NEW.status IN {_OPEN})
        BEGIN SELECT RAISE(ABORT, '{_FROZEN_MESSAGE}'); END""",
        f"""CREATE TRIGGER invoice_no_delete BEFORE DELETE ON invoice
        WHEN OLD.status NOT IN {_OPEN}
        BEGIN SELECT RAISE(ABORT, '{_FROZEN_MESSAGE}'); END""",
    ]
    for table in _CHILDREN:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            statements.append(
                f"""CREATE TRIGGER {table}_frozen_{event.lower()} BEFORE {event} ON {table}
                WHEN (SELECT status FROM invoice WHERE id = {row}.invoice_id) NOT IN {_OPEN}
                BEGIN SELECT RAISE(ABORT, '{table}: {_CHILD_MESSAGE}'); END"""
            )
    for table in _APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            statements.append(
                f"""CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"""
            )
    return statements


def _postgres_triggers() -> list[str]:
    new_row = ", ".join(f"NEW.{c}" for c in _FROZEN)
    old_row = ", ".join(f"OLD.{c}" for c in _FROZEN)
    statements = [
        f"""CREATE FUNCTION invoice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status IN {_OPEN} THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
          END IF;
          IF TG_OP = 'DELETE' OR OLD.status = 'void' OR NEW.status IN {_OPEN}
             OR ROW({new_row}) IS DISTINCT FROM ROW({old_row}) THEN
            RAISE EXCEPTION '{_FROZEN_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$""",
        """CREATE TRIGGER invoice_guard BEFORE UPDATE OR DELETE ON invoice
        FOR EACH ROW EXECUTE FUNCTION invoice_guard()""",
        f"""CREATE FUNCTION invoice_child_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          parent_status text;
          parent_id bigint;
        BEGIN
          IF TG_OP = 'INSERT' THEN parent_id := NEW.invoice_id; ELSE parent_id := OLD.invoice_id;
          END IF;
          SELECT status INTO parent_status FROM invoice WHERE id = parent_id;
          IF parent_status NOT IN {_OPEN} THEN
            RAISE EXCEPTION '%: {_CHILD_MESSAGE}', TG_TABLE_NAME
              USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""",
        """CREATE FUNCTION invoicing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    ]
    for table in _CHILDREN:
        statements.append(
            f"""CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION invoice_child_guard()"""
        )
    for table in _APPEND_ONLY:
        statements.append(
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION invoicing_append_only()"""
        )
    return statements


def _partner() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "partner_id", sa.String(length=64), sa.ForeignKey("billing_partner.id"), nullable=False
    )


def _money(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "invoice",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("period_start_at", UTCDateTime(), nullable=False),
        sa.Column("period_end_at", UTCDateTime(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        _money("subtotal_minor"),
        _money("discount_minor"),
        _money("tax_minor"),
        _money("total_minor"),
        sa.Column("discount_percent", DecimalText(), nullable=False),
        sa.Column("tax_name", sa.String(length=200), nullable=True),
        sa.Column("tax_percent", DecimalText(), nullable=True),
        _money("amount_paid_minor"),
        _money("credited_minor"),
        _money("cost_minor"),
        sa.Column("cost_currency", sa.String(length=3), nullable=False),
        sa.Column("auto_charge", sa.Boolean(), nullable=False),
        sa.Column("watermark", UTCDateTime(), nullable=False),
        sa.Column("usage_events", sa.Integer(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_at", sa.Date(), nullable=True),
        sa.Column("net_terms_days", sa.Integer(), nullable=False),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.Column("uncollectible_at", UTCDateTime(), nullable=True),
        sa.Column("ledger_entry_id", BigId, sa.ForeignKey("ledger_entry.id"), nullable=True),
        sa.Column("closing_entry_id", BigId, sa.ForeignKey("ledger_entry.id"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        sa.UniqueConstraint("partner_id", "number", name="uq_invoice_number"),
    )
    op.create_index(
        "uq_invoice_client_period",
        "invoice",
        ["partner_id", "client_id", "period_start"],
        unique=True,
        sqlite_where=sa.text("status <> 'void'"),
        postgresql_where=sa.text("status <> 'void'"),
    )
    op.create_index(
        "ix_invoice_partner_status", "invoice", ["partner_id", "status", "period_start"]
    )
    op.create_table(
        "invoice_line",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("usage_type", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", DecimalText(), nullable=False),
        sa.Column("unit_price", DecimalText(), nullable=False),
        _money("amount_minor"),
        _money("cost_minor"),
        sa.Column("tier", sa.Integer(), nullable=True),
        sa.Column("block_size", DecimalText(), nullable=True),
        sa.Column("origin_period_start", sa.Date(), nullable=True),
        sa.UniqueConstraint("invoice_id", "position"),
    )
    op.create_index("ix_invoice_line_invoice_id", "invoice_line", ["invoice_id"])
    op.create_table(
        "invoice_usage",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("usage_type", sa.String(length=64), nullable=False),
        sa.Column("origin_period_start", sa.Date(), nullable=False),
        sa.Column("quantity", DecimalText(), nullable=False),
        sa.Column("total_quantity", DecimalText(), nullable=False),
        _money("charge_minor"),
        _money("cost_minor"),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("watermark", UTCDateTime(), nullable=False),
        _money("unbilled_cleared_minor"),
        _money("cost_cleared_minor"),
        sa.UniqueConstraint("invoice_id", "usage_type", "origin_period_start"),
    )
    op.create_index(
        "ix_invoice_usage_client",
        "invoice_usage",
        ["partner_id", "client_id", "origin_period_start"],
    )
    op.create_table(
        "invoicing_sequence",
        sa.Column(
            "partner_id",
            sa.String(length=64),
            sa.ForeignKey("billing_partner.id"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(length=16), primary_key=True),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "invoicing_client_settings",
        sa.Column("partner_id", sa.String(length=64), primary_key=True),
        sa.Column("client_id", sa.String(length=64), primary_key=True),
        sa.Column("auto_approve", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
    )
    op.create_table(
        "credit_note",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", BigId, sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        _money("subtotal_minor"),
        _money("discount_minor"),
        _money("tax_minor"),
        _money("total_minor"),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("ledger_entry_id", BigId, sa.ForeignKey("ledger_entry.id"), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.UniqueConstraint("partner_id", "number", name="uq_credit_note_number"),
    )
    op.create_index("ix_credit_note_invoice_id", "credit_note", ["invoice_id"])
    op.create_table(
        "credit_note_line",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("credit_note_id", BigId, sa.ForeignKey("credit_note.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", BigId, sa.ForeignKey("invoice_line.id"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("usage_type", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", DecimalText(), nullable=False),
        sa.Column("unit_price", DecimalText(), nullable=False),
        _money("amount_minor"),
        sa.UniqueConstraint("credit_note_id", "position"),
    )
    op.create_table(
        "billing_event",
        sa.Column("id", BigId, primary_key=True),
        _partner(),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_billing_event_partner", "billing_event", ["partner_id", "id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "billing_event",
        "credit_note_line",
        "credit_note",
        "invoicing_client_settings",
        "invoicing_sequence",
        "invoice_usage",
        "invoice_line",
        "invoice",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for function in ("invoice_guard", "invoice_child_guard", "invoicing_append_only"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
