"""Scheduler tables: APScheduler's job store and our per-run record.

`apscheduler_jobs` is declared here with exactly the columns APScheduler 3's
`SQLAlchemyJobStore` creates, so the migration (0013) owns it and the autogenerate check in
`tests/test_migrations.py` compares it like any other table (the job store's own
`create_all` then finds it present and does nothing).

`scheduler_job_run` is the exactly-once guard: one row per (job, scheduled run time). The
first scheduler to insert it runs the job; every other scheduler that fires the same
occurrence hits the unique constraint and skips. The row then records start, end and result.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Column,
    Float,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = ["APSCHEDULER_TABLE", "RunStatus", "SchedulerJobRun", "apscheduler_jobs"]

APSCHEDULER_TABLE = "apscheduler_jobs"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"


class SchedulerJobRun(SQLModel, table=True):
    __tablename__ = "scheduler_job_run"
    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_at", name="uq_scheduler_job_run_occurrence"),
        Index("ix_scheduler_job_run_job_started", "job_id", "started_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    job_id: str = Field(sa_column=Column(String(191), nullable=False))
    scheduled_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    status: RunStatus = Field(
        default=RunStatus.RUNNING, sa_column=Column(StrEnumType(RunStatus), nullable=False)
    )
    message: str | None = Field(default=None, sa_column=Column(Text))
    runner: str = Field(sa_column=Column(String(200), nullable=False))


apscheduler_jobs = Table(
    APSCHEDULER_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
