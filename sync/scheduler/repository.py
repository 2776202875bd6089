"""The scheduler's own queries: the job store's next run times (APScheduler's table, read for
`scheduler list`), the invoices a job acts on, and the run records (`runs` decides when to
write them; claiming an occurrence is the work queue's `claim_by_insert`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from billing.invoicing.models import Invoice, InvoiceStatus
from sync.scheduler.models import RunStatus, SchedulerJobRun, apscheduler_jobs

__all__ = ["auto_approved_invoice_ids", "finish_run", "latest_runs", "stored_next_run_times"]


def stored_next_run_times(session: Session) -> dict[str, datetime | None]:
    """Job id -> its next run time as APScheduler stored it (None: paused)."""
    rows = session.execute(select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time))
    return {
        str(job_id): None if stamp is None else datetime.fromtimestamp(float(stamp), UTC)
        for job_id, stamp in rows
    }


def auto_approved_invoice_ids(session: Session, partner_id: str) -> list[int]:
    """The partner's drafts that closing approved automatically (`approved_by == "auto"`)."""
    query = (
        select(col(Invoice.id))
        .where(col(Invoice.partner_id) == partner_id)
        .where(col(Invoice.status) == InvoiceStatus.APPROVED)
        .where(col(Invoice.approved_by) == "auto")
        .order_by(col(Invoice.id))
    )
    return [i for i in session.scalars(query) if i is not None]


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: RunStatus,
    message: str | None,
    finished_at: datetime,
) -> None:
    """Record a run's outcome with one UPDATE and no read first: on SQLite a transaction that
    reads and then writes can fail at once ("database is locked") when another process wrote
    meanwhile; one that only writes waits its turn."""
    session.execute(
        update(SchedulerJobRun)
        .where(col(SchedulerJobRun.id) == run_id)
        .values(finished_at=finished_at, status=status, message=message)
        .execution_options(synchronize_session=False)
    )


def latest_runs(session: Session) -> list[SchedulerJobRun]:
    """The latest run (by scheduled time) of every job that has run."""
    latest = (
        select(col(SchedulerJobRun.job_id), func.max(col(SchedulerJobRun.scheduled_at)).label("at"))
        .group_by(col(SchedulerJobRun.job_id))
        .subquery()
    )
    query = select(SchedulerJobRun).join(
        latest,
        (col(SchedulerJobRun.job_id) == latest.c.job_id)
        & (col(SchedulerJobRun.scheduled_at) == latest.c.at),
    )
    return list(session.scalars(query))
