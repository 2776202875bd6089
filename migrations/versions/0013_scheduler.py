"""Scheduler: APScheduler's job store table and the per-run record (exactly once per
(job, scheduled time) across every scheduler process).

Revision ID: 0013
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from config.db_types import BigId, UTCDateTime

revision = "0013"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Exactly the table APScheduler 3's SQLAlchemyJobStore would create for itself.
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), primary_key=True),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])
    op.create_table(
        "scheduler_job_run",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(length=200), nullable=False),
        sa.UniqueConstraint("job_id", "scheduled_at", name="uq_scheduler_job_run_occurrence"),
    )
    op.create_index(
        "ix_scheduler_job_run_job_started", "scheduler_job_run", ["job_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_table("scheduler_job_run")
    op.drop_table("apscheduler_jobs")
