"""The hourly cycle-close job on a real partner: due cycles become drafts, the drafts the
partner approves automatically are issued, and reconciliation follows a close."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from billing.invoicing.models import Invoice, InvoiceStatus
from billing.tenants.models import Client
from sync.scheduler.jobs import JobContext
from sync.scheduler.models import RunStatus
from sync.scheduler.service import fire
from tests.billing.invoicing.builders import at, last_month, send, setup_partner

from .fakes import Recorder


@pytest.mark.parametrize("auto_approve", [True, False])
def test_cycle_close_drafts_and_issues_what_is_auto_approved(
    engine: Engine, auto_approve: bool
) -> None:
    month = last_month()
    with Session(engine) as session:
        setup_partner(session, auto_approve=auto_approve)
        send(session, [("e1", "bakery", "voice_minutes", "120", at(month, 3))])
        # The clients joined on the first of last month (cycles start on the day a client joins).
        session.execute(
            update(Client).values(
                created_at=datetime.combine(month, time(), UTC) - timedelta(days=1)
            )
        )
        session.commit()
    this_month = (month + timedelta(days=40)).replace(day=1)
    # Two days into this month: last month's period plus the 24-hour grace period are over.
    now = datetime.combine(this_month + timedelta(days=2), time(10, 10), UTC)
    recorder = Recorder()
    ctx = JobContext(engine, reconcile=recorder.engine_job("reconcile"))

    outcome = fire(ctx, "cycle_close", now)

    assert outcome.status is RunStatus.OK, outcome.message
    with Session(engine) as session:
        invoices = list(session.scalars(select(Invoice)))
    [invoice] = [i for i in invoices if i.client_id == "bakery" and i.period_start == month]
    assert invoice.total_minor > 0
    if auto_approve:
        assert all(i.status == InvoiceStatus.ISSUED and i.number for i in invoices)
        assert {i.approved_by for i in invoices} == {"auto"}
    else:
        assert all(i.status == InvoiceStatus.DRAFT and i.number is None for i in invoices)
    assert recorder.named("reconcile") == [(engine, now)]
    # The next hour finds nothing more to close and does not reconcile again.
    fire(ctx, "cycle_close", now + timedelta(hours=1))
    assert len(recorder.named("reconcile")) == 1
