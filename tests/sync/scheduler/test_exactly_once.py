"""Several schedulers, one run per occurrence; a missed run is caught up once; `jobs` lists.

Runs go through `fire` with explicit scheduled times (no wall-clock waits), except the
APScheduler tests, whose occurrences are already due when the scheduler starts."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session
from typer.testing import CliRunner

from config.db import create_db_engine
from sync.scheduler.models import RunStatus, SchedulerJobRun, apscheduler_jobs
from sync.scheduler.service import JOBS, build_scheduler, fire, job_listing

from .fakes import Recorder, add_partner

AT = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


@pytest.fixture
def second_engine(engine: Engine) -> Iterator[Engine]:
    """Another engine (its own pool) on the same database, as a second process would have."""
    other = create_db_engine(os.environ["REBILL_DATABASE_URL"])
    yield other
    other.dispose()


def _runs(engine: Engine, job_id: str | None = None) -> list[SchedulerJobRun]:
    with Session(engine) as session:
        query = select(SchedulerJobRun).order_by(SchedulerJobRun.id)  # type: ignore[arg-type]
        if job_id:
            query = query.where(SchedulerJobRun.job_id == job_id)  # type: ignore[arg-type]
        return list(session.scalars(query))


def test_the_same_occurrence_runs_once(engine: Engine) -> None:
    add_partner(engine, "acme")
    recorder = Recorder()
    ctx = recorder.context(engine)
    first, second = fire(ctx, "accrual", AT), fire(ctx, "accrual", AT)
    assert first.ran and not second.ran
    assert recorder.named("accrue") == [("acme", AT)]
    fire(ctx, "accrual", AT + timedelta(minutes=5))
    assert len(recorder.named("accrue")) == 2
    [run, _] = _runs(engine, "accrual")
    assert run.status is RunStatus.OK and run.finished_at is not None
    assert run.started_at <= run.finished_at


def test_two_schedulers_fire_every_job_once(engine: Engine, second_engine: Engine) -> None:
    add_partner(engine, "acme")
    recorder = Recorder()
    contexts = [recorder.context(engine), recorder.context(second_engine)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler(index: int) -> None:
        try:
            for definition in JOBS:
                barrier.wait(timeout=300)
                fire(contexts[index], definition.job_id, AT)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    runs = _runs(engine)
    assert sorted(r.job_id for r in runs) == sorted(d.job_id for d in JOBS)
    assert all(r.status is RunStatus.OK for r in runs)
    for work in ("accrue", "close", "issue", "drain_outbox", "pull_payments", "charge"):
        assert len(recorder.named(work)) == 1, work
    assert len(recorder.named("reconcile")) == 1  # daily job; no draft closed, no second call


def test_jobs_lists_the_last_result(engine: Engine) -> None:
    add_partner(engine, "acme")
    recorder = Recorder()
    fire(recorder.context(engine), "mail", AT)
    recorder.fail_for = {"acme"}
    fire(recorder.context(engine), "accrual", AT)
    listing = {j["job"]: j for j in job_listing(engine, now=AT + timedelta(minutes=1))}
    assert listing["mail"]["last_result"] == "ok"
    assert listing["mail"]["last_message"] == "send_mail done"
    assert listing["accrual"]["last_result"] == "error"
    assert "accrue broke for acme" in str(listing["accrual"]["last_message"])
    assert listing["accrual"]["next_run"] == "2026-11-03T06:05:00+00:00"
    assert listing["outbox"]["last_run"] is None

    from main import app

    result = CliRunner().invoke(app, ["jobs", "--json"])
    assert result.exit_code == 0, result.output
    by_job = {j["job"]: j for j in json.loads(result.output)}
    assert by_job["accrual"]["last_result"] == "error"
    text = CliRunner().invoke(app, ["jobs"])
    assert "accrual" in text.output and "error (JobError" in text.output


def _wait_for(condition: object, seconds: float = 180.0) -> None:
    """Until `condition()`; past a generous bound the machine is too loaded to tell: skip."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    pytest.skip(f"the due job did not start within {seconds:.0f} s (machine loaded)")


def _latest_five_minute_mark(now: datetime) -> datetime:
    return now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)


def _backdate(engine: Engine, job_id: str, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(apscheduler_jobs)
            .where(apscheduler_jobs.c.id == job_id)
            .values(next_run_time=when.timestamp())
        )


def test_after_three_hours_down_a_five_minute_job_runs_once(engine: Engine) -> None:
    add_partner(engine, "acme")
    recorder = Recorder()
    first = build_scheduler(recorder.context(engine))
    first.start(paused=True)  # registers the jobs in the database, runs nothing
    first.shutdown()
    # The scheduler was off for 3 hours: the stored next accrual run is 3 hours old (36 slots).
    _backdate(engine, "accrual", _latest_five_minute_mark(datetime.now(UTC)) - timedelta(hours=3))

    restarted = build_scheduler(recorder.context(engine))
    restarted.start()
    try:
        _wait_for(lambda: recorder.named("accrue"))
        time.sleep(1.0)  # any stacked runs would show up now
    finally:
        restarted.shutdown(wait=True)
    runs = _runs(engine, "accrual")
    assert len(recorder.named("accrue")) == 1
    assert len(runs) == 1
    now = datetime.now(UTC)
    assert runs[0].scheduled_at in {
        _latest_five_minute_mark(now),
        _latest_five_minute_mark(now) - timedelta(minutes=5),  # a mark passed meanwhile
    }
    with Session(engine) as session:
        stored = session.execute(
            select(apscheduler_jobs.c.next_run_time).where(apscheduler_jobs.c.id == "accrual")
        ).scalar_one()
    assert datetime.fromtimestamp(stored, UTC) > runs[0].scheduled_at


def test_two_apscheduler_instances_run_a_due_job_once(
    engine: Engine, second_engine: Engine
) -> None:
    add_partner(engine, "acme")
    recorder = Recorder()
    setup = build_scheduler(recorder.context(engine))
    setup.start(paused=True)
    setup.shutdown()
    _backdate(engine, "accrual", _latest_five_minute_mark(datetime.now(UTC)))
    schedulers = [
        build_scheduler(recorder.context(engine)),
        build_scheduler(recorder.context(second_engine)),
    ]
    for scheduler in schedulers:
        scheduler.start()
    try:
        _wait_for(lambda: recorder.named("accrue"))
        time.sleep(1.5)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    assert len(recorder.named("accrue")) == 1
    with Session(engine) as session:
        count = session.scalar(
            select(func.count()).where(SchedulerJobRun.job_id == "accrual")  # type: ignore[arg-type]
        )
    assert count == 1
