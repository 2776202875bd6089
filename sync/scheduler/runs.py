"""Run one occurrence of a job at most once, whichever scheduler fires it.

Every scheduler process fires every job (APScheduler's job store is shared, but its own
locking does not stop two processes from reading the same due job). So each firing goes
through `run_guarded`: it inserts the `scheduler_job_run` row for (job id, scheduled run
time) in its own short transaction: the work queue's claim of a one-off occurrence
(`workqueue.repository.claim_by_insert`, docs/work-queue.md). The unique constraint lets
exactly one insert win on SQLite and PostgreSQL alike; the losers skip. On PostgreSQL the
insert also takes a transaction-scoped advisory lock on the occurrence first, so a loser gives
up at once instead of waiting on the winner's uncommitted row. The winner runs the job and
records its result. An occurrence has no lease and no retry: a run that died stays `running`,
and the job's next occurrence does its work (every job finds its own work).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from config.db import session_scope
from config.db_types import utcnow
from workqueue import repository as queue

from . import repository
from .models import RunStatus, SchedulerJobRun

__all__ = ["LastRun", "RunOutcome", "last_runs", "run_guarded", "runner_name"]

log = logging.getLogger(__name__)

_MESSAGE_LIMIT = 2000


def runner_name() -> str:
    """Who ran it: host and process id, for the run record."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RunOutcome:
    """What one firing did: `ran` is False when another scheduler had the occurrence."""

    job_id: str
    scheduled_at: datetime
    ran: bool
    status: RunStatus | None = None
    message: str | None = None


@dataclass(frozen=True)
class LastRun:
    job_id: str
    scheduled_at: datetime
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    message: str | None


def _advisory_key(job_id: str, scheduled_at: datetime) -> int:
    digest = hashlib.sha256(f"{job_id}@{scheduled_at.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim(engine: Engine, job_id: str, scheduled_at: datetime, runner: str) -> int | None:
    """Insert the occurrence's row in a transaction of its own, committed at once; its id, or
    None when another scheduler has it (nothing was written then)."""
    row = SchedulerJobRun(job_id=job_id, scheduled_at=scheduled_at, runner=runner)
    with session_scope(engine) as session:
        won = queue.claim_by_insert(session, row, lock_key=_advisory_key(job_id, scheduled_at))
    return row.id if won else None


def _finish(engine: Engine, row_id: int, status: RunStatus, message: str | None) -> None:
    with session_scope(engine) as session:
        repository.finish_run(
            session,
            row_id,
            status=status,
            message=message[:_MESSAGE_LIMIT] if message else message,
            finished_at=utcnow(),
        )


def run_guarded(
    engine: Engine,
    job_id: str,
    scheduled_at: datetime,
    job: Callable[[datetime], object],
    *,
    runner: str | None = None,
) -> RunOutcome:
    """Run `job(scheduled_at)` unless another scheduler already took this occurrence.

    A job's exception is recorded as an `error` run (with its message) and not re-raised:
    one failing job must not stop the scheduler or the other jobs."""
    if scheduled_at.tzinfo is None:
        raise ValueError("scheduled_at: must be timezone-aware")
    moment = scheduled_at.astimezone(UTC)
    row_id = _claim(engine, job_id, moment, runner or runner_name())
    if row_id is None:
        log.info("job %s at %s: already taken by another scheduler", job_id, moment)
        return RunOutcome(job_id, moment, ran=False)
    try:
        result = job(moment)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        log.error("job %s at %s failed: %s\n%s", job_id, moment, message, traceback.format_exc())
        _finish(engine, row_id, RunStatus.ERROR, message)
        return RunOutcome(job_id, moment, ran=True, status=RunStatus.ERROR, message=message)
    summary = None if result is None else str(result)
    _finish(engine, row_id, RunStatus.OK, summary)
    log.info("job %s at %s: ok %s", job_id, moment, summary or "")
    return RunOutcome(job_id, moment, ran=True, status=RunStatus.OK, message=summary)


def last_runs(session: Session) -> dict[str, LastRun]:
    """The latest run (by scheduled time) of every job that has run."""
    return {
        r.job_id: LastRun(
            r.job_id, r.scheduled_at, r.started_at, r.finished_at, r.status, r.message
        )
        for r in repository.latest_runs(session)
    }
