"""The scheduler's own queries: the job store's next run times (APScheduler's table, read for
`scheduler list`) and the invoices a job acts on. Runs and their outcomes are `runs`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from billing.invoicing.models import Invoice, InvoiceStatus
from sync.scheduler.models import apscheduler_jobs

__all__ = ["auto_approved_invoice_ids", "stored_next_run_times"]


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
