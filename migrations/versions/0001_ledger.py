"""The books: accounts, journal entries, postings, and the database-enforced invariants.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_IMMUTABLE = "rows are immutable: correct with a reversing entry"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry
    BEGIN SELECT RAISE(ABORT, 'ledger_entry {_IMMUTABLE}'); END""",
    f"""CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry
    BEGIN SELECT RAISE(ABORT, 'ledger_entry {_IMMUTABLE}'); END""",
    f"""CREATE TRIGGER ledger_posting_no_update BEFORE UPDATE ON ledger_posting
    BEGIN SELECT RAISE(ABORT, 'ledger_posting {_IMMUTABLE}'); END""",
    f"""CREATE TRIGGER ledger_posting_no_delete BEFORE DELETE ON ledger_posting
    BEGIN SELECT RAISE(ABORT, 'ledger_posting {_IMMUTABLE}'); END""",
    """CREATE TRIGGER ledger_posting_sealed BEFORE INSERT ON ledger_posting
    WHEN EXISTS (SELECT 1 FROM ledger_entry WHERE id = NEW.entry_id)
    BEGIN SELECT RAISE(ABORT, 'ledger_posting: its entry is already posted and sealed'); END""",
    """CREATE TRIGGER ledger_posting_account_match BEFORE INSERT ON ledger_posting
    WHEN NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = NEW.account_id
                     AND a.currency = NEW.currency AND a.partner_id = NEW.partner_id)
    BEGIN SELECT RAISE(ABORT, 'ledger_posting: currency or partner differs from its account'); END""",
    """CREATE TRIGGER ledger_entry_balanced BEFORE INSERT ON ledger_entry
    WHEN (SELECT COALESCE(SUM(legs), 0) < 2 OR MIN(total) <> 0 OR MAX(total) <> 0
          FROM (SELECT COUNT(*) AS legs, SUM(amount) AS total FROM ledger_posting
                WHERE entry_id = NEW.id GROUP BY currency))
    BEGIN SELECT RAISE(ABORT, 'ledger_entry: postings do not balance per currency'); END""",
]

_POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% {_IMMUTABLE}', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE TRIGGER ledger_posting_immutable BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE FUNCTION ledger_posting_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM ledger_entry WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'ledger_posting: entry % is already posted and sealed', NEW.entry_id
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      IF NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = NEW.account_id
                     AND a.currency = NEW.currency AND a.partner_id = NEW.partner_id) THEN
        RAISE EXCEPTION 'ledger_posting: currency or partner differs from account %', NEW.account_id
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER ledger_posting_check BEFORE INSERT ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_check()""",
    """CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      unbalanced record;
      legs integer;
    BEGIN
      SELECT currency, SUM(amount) AS total INTO unbalanced FROM ledger_posting
        WHERE entry_id = NEW.id GROUP BY currency HAVING SUM(amount) <> 0 LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'ledger_entry %: postings do not balance (% % off)',
          NEW.id, unbalanced.total, unbalanced.currency USING ERRCODE = 'check_violation';
      END IF;
      SELECT COUNT(*) INTO legs FROM ledger_posting WHERE entry_id = NEW.id;
      IF legs < 2 THEN
        RAISE EXCEPTION 'ledger_entry %: needs at least two postings', NEW.id
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced()""",
]


def upgrade() -> None:
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("usage_type", sa.String(length=64), nullable=True),
        sa.Column("normal_side", sa.String(length=6), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "code", "currency"),
    )
    op.create_index("ix_ledger_account_partner_id", "ledger_account", ["partner_id"])
    op.create_table(
        "ledger_entry",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("source_type", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=True),
        sa.Column(
            "reverses_entry_id",
            BigId,
            sa.ForeignKey("ledger_entry.id"),
            nullable=True,
        ),
        sa.UniqueConstraint("partner_id", "idempotency_key"),
    )
    op.create_index(
        "uq_ledger_entry_reverses",
        "ledger_entry",
        ["reverses_entry_id"],
        unique=True,
        sqlite_where=sa.text("reverses_entry_id IS NOT NULL"),
        postgresql_where=sa.text("reverses_entry_id IS NOT NULL"),
    )
    op.create_table(
        "ledger_posting",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "entry_id",
            BigId,
            sa.ForeignKey("ledger_entry.id", deferrable=True, initially="DEFERRED"),
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("ledger_account.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("usage_type", sa.String(length=64), nullable=True),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ledger_posting_entry", "ledger_posting", ["entry_id", "currency", "amount"])
    op.create_index(
        "ix_ledger_posting_balance",
        "ledger_posting",
        ["partner_id", "account_id", "effective_at", "amount"],
    )
    triggers = (
        _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("ledger_posting")
    op.drop_table("ledger_entry")
    op.drop_table("ledger_account")
    if op.get_bind().dialect.name == "postgresql":
        for function in ("ledger_refuse_change", "ledger_posting_check", "ledger_entry_balanced"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
