"""The ledger's row triggers look rows up by primary key, whatever the statistics say.

`ledger_posting_check` (before each posting: its entry must not exist yet, its account must
match) and `ledger_entry_balanced` (deferred, per entry: its postings must balance) are
PL/pgSQL: each query in them is planned once per database connection and the plan is kept.
Planned while the ledger was empty on freshly analysed tables, the lookup of an entry by its
id became a sequential scan, and the connection kept it as the ledger grew: issuing 10,000
invoices after an accrual of 10,000 entries spent 16.7 s in the COPY of its postings, each
row scanning every entry (bench/cycle.py, PostgreSQL, analysed; 1.6 s never analysed).
Sequential scans are switched off inside these two functions only: every query in them is an
equality on an indexed key, so the index is always the right plan. PostgreSQL only; SQLite
plans each trigger statement with its own index rules.

Revision ID: 0020_ledger_trigger_plans
Revises: 0015_service_period
"""

from alembic import op

revision = "0020_ledger_trigger_plans"
down_revision = "0015_service_period"
branch_labels = None
depends_on = None

_FUNCTIONS = ("ledger_posting_check()", "ledger_entry_balanced()")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET enable_seqscan = off")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET enable_seqscan")
