"""The scheduler: APScheduler 3 with its job store in our database, each firing guarded.

Schedules are cron triggers in UTC aligned to the clock (every 5 minutes at :00, :05, ...),
so every scheduler process computes the same scheduled times and the `scheduler_job_run`
guard (see `runs`) can tell that two firings are the same occurrence. Each job has
`coalesce=True` (missed occurrences collapse into one), `max_instances=1` and a
`misfire_grace_time` of one period: after downtime only the latest missed occurrence is
still within its grace and runs once, never one per missed slot.

APScheduler runs the stored function itself; we replace its executor with `GuardedExecutor`,
which knows each occurrence's scheduled time and runs the job through `run_guarded`.
Re-registering the jobs at start keeps the stored next run time, so a run missed while every
scheduler was down is still caught up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent  # type: ignore[import-untyped]
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.job import Job  # type: ignore[import-untyped]
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.base import BaseScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.blocking import BlockingScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from sqlalchemy import Engine

from config.db import read_scope
from config.db_types import utcnow

from .jobs import JOB_FUNCTIONS, JobContext
from .models import APSCHEDULER_TABLE
from .repository import stored_next_run_times
from .runs import RunOutcome, last_runs, run_guarded

__all__ = [
    "JOBS",
    "GuardedExecutor",
    "JobDefinition",
    "build_scheduler",
    "fire",
    "job_listing",
    "scheduled_job",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobDefinition:
    job_id: str
    description: str
    cron: dict[str, str]  # CronTrigger fields, UTC
    period: timedelta  # also the misfire grace time

    def trigger(self) -> CronTrigger:
        return CronTrigger(timezone=UTC, **self.cron)

    @property
    def schedule(self) -> str:
        fields = " ".join(f"{k}={v}" for k, v in self.cron.items())
        return f"cron {fields} (UTC)"


_MINUTE, _HOUR, _DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
JOBS: tuple[JobDefinition, ...] = (
    JobDefinition("accrual", "accrue usage into the books", {"minute": "*/5"}, 5 * _MINUTE),
    JobDefinition(
        "cycle_close",
        "close due cycles, issue auto-approved drafts, reconcile closed partners",
        {"minute": "10"},
        _HOUR,
    ),
    JobDefinition("outbox", "drain the accounting-sync outbox", {"minute": "*"}, _MINUTE),
    JobDefinition("payments_readback", "pull payments from the books", {"minute": "20"}, _HOUR),
    JobDefinition(
        "token_refresh", "refresh idle connections' tokens", {"hour": "3", "minute": "30"}, _DAY
    ),
    JobDefinition("stripe_charges", "Stripe charges and dunning", {"minute": "40"}, _HOUR),
    JobDefinition("mail", "send queued e-mail", {"minute": "*"}, _MINUTE),
    JobDefinition("webhooks", "send partner webhooks due now", {"minute": "*"}, _MINUTE),
    JobDefinition(
        "reconcile",
        "reconcile each partner daily from its reconcile_hour (its time zone)",
        {"minute": "0"},
        _HOUR,
    ),
    JobDefinition(
        "margin_alerts",
        "e-mail operators clients whose margin eroded (daily, from margin_alert_hour)",
        {"minute": "50"},
        _HOUR,
    ),
    JobDefinition(
        "idempotency_prune",
        "delete Idempotency-Key answers past their 24 hours",
        {"minute": "15"},
        _HOUR,
    ),
)
_BY_ID = {d.job_id: d for d in JOBS}


def fire(ctx: JobContext, job_id: str, scheduled_at: datetime) -> RunOutcome:
    """Run one occurrence of a job through the exactly-once guard (what the scheduler does
    for each firing; tests and `jobs run` call it directly with explicit times)."""
    work = JOB_FUNCTIONS.get(job_id)
    if work is None:
        raise ValueError(f"job: unknown job {job_id!r} (known: {', '.join(_BY_ID)})")
    return run_guarded(ctx.engine, job_id, scheduled_at, lambda moment: work(ctx, moment))


def scheduled_job(job_id: str) -> None:
    """The function stored for every job; `GuardedExecutor` runs the real work instead."""
    raise RuntimeError(f"job {job_id}: run it through GuardedExecutor, not directly")


class GuardedExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    """A thread pool that runs each occurrence with `fire`, knowing its scheduled time."""

    def __init__(self, ctx: JobContext, max_workers: int = 4) -> None:
        super().__init__(max_workers)
        self.ctx = ctx

    def _run(self, job: Job, run_times: list[datetime]) -> list[JobExecutionEvent]:
        events = []
        for run_time in run_times:
            grace = job.misfire_grace_time
            late = datetime.now(UTC) - run_time
            if grace is not None and late > timedelta(seconds=grace):
                log.warning("job %s: occurrence %s missed by %s, skipped", job.id, run_time, late)
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, "default", run_time))
                continue
            outcome = fire(self.ctx, job.id, run_time)
            events.append(
                JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, "default", run_time, outcome)
            )
        return events

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def done(future: Any) -> None:
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(self._run, job, run_times).add_done_callback(done)


def _stored_next_runs(engine: Engine) -> dict[str, datetime | None]:
    with read_scope(engine) as session:
        return stored_next_run_times(session)


def build_scheduler(ctx: JobContext, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every job registered (the stored next run time kept, so a missed
    occurrence is still caught up once after a restart)."""
    kind: Callable[..., BaseScheduler] = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(
        jobstores={"default": SQLAlchemyJobStore(engine=ctx.engine, tablename=APSCHEDULER_TABLE)},
        executors={"default": GuardedExecutor(ctx)},
        timezone=UTC,
    )
    stored = _stored_next_runs(ctx.engine)
    for definition in JOBS:
        options: dict[str, Any] = {}
        if stored.get(definition.job_id) is not None:
            options["next_run_time"] = stored[definition.job_id]
        scheduler.add_job(
            scheduled_job,
            definition.trigger(),
            id=definition.job_id,
            name=definition.description,
            kwargs={"job_id": definition.job_id},
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(definition.period.total_seconds()),
            replace_existing=True,
            **options,
        )
    return scheduler


def job_listing(engine: Engine, now: datetime | None = None) -> list[dict[str, object]]:
    """Each job: schedule, last run and its result, next run (stored by a scheduler, else
    what the schedule gives)."""
    moment = now or utcnow()
    stored = _stored_next_runs(engine)
    with read_scope(engine) as session:
        last = last_runs(session)
    listing: list[dict[str, object]] = []
    for definition in JOBS:
        run = last.get(definition.job_id)
        next_run = stored.get(definition.job_id) or definition.trigger().get_next_fire_time(
            None, moment
        )
        listing.append(
            {
                "job": definition.job_id,
                "description": definition.description,
                "schedule": definition.schedule,
                "last_run": run.scheduled_at.isoformat() if run else None,
                "last_finished": run.finished_at.isoformat() if run and run.finished_at else None,
                "last_result": str(run.status) if run else None,
                "last_message": run.message if run else None,
                "next_run": next_run.isoformat() if next_run else None,
            }
        )
    return listing
