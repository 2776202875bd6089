"""Each scheduled job calls the work it stands for with the right arguments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from sync.scheduler import jobs
from sync.scheduler.jobs import JobContext
from sync.scheduler.models import RunStatus
from sync.scheduler.service import JOBS, fire

from .fakes import Recorder, add_partner

AT = datetime(2026, 11, 3, 6, 10, tzinfo=UTC)


@pytest.fixture
def recorder(engine: Engine) -> Recorder:
    add_partner(engine, "acme", "Europe/Paris")
    add_partner(engine, "bolt", "America/New_York", reconcile_hour=9)
    return Recorder()


def test_accrual_runs_for_every_partner_at_the_scheduled_time(
    engine: Engine, recorder: Recorder
) -> None:
    outcome = fire(recorder.context(engine), "accrual", AT)
    assert outcome.ran and outcome.status is RunStatus.OK
    assert recorder.named("accrue") == [("acme", AT), ("bolt", AT)]
    assert [n for n, _ in recorder.calls] == ["accrue", "accrue"]


@pytest.mark.parametrize(
    ("job_id", "work"),
    [
        ("outbox", "drain_outbox"),
        ("payments_readback", "pull_payments"),
        ("token_refresh", "refresh_tokens"),
        ("stripe_charges", "charge"),
        ("mail", "send_mail"),
        ("reconcile", "reconcile"),
    ],
)
def test_engine_jobs_get_the_engine_and_the_scheduled_time(
    engine: Engine, recorder: Recorder, job_id: str, work: str
) -> None:
    outcome = fire(recorder.context(engine), job_id, AT)
    assert outcome.status is RunStatus.OK
    assert recorder.calls == [(work, (engine, AT))]


def test_cycle_close_issues_auto_approved_and_reconciles_after_a_close(
    engine: Engine, recorder: Recorder
) -> None:
    recorder.drafts = 2
    fire(recorder.context(engine), "cycle_close", AT)
    assert recorder.named("close") == [("acme", AT), ("bolt", AT)]
    assert recorder.named("issue") == [("acme", AT), ("bolt", AT)]
    assert recorder.named("reconcile") == [(engine, AT)]


def test_cycle_close_with_nothing_closed_does_not_reconcile(
    engine: Engine, recorder: Recorder
) -> None:
    recorder.drafts = 0
    fire(recorder.context(engine), "cycle_close", AT)
    assert recorder.named("close") and recorder.named("issue")
    assert recorder.named("reconcile") == []


def test_one_partner_failing_does_not_stop_the_others_and_is_recorded(
    engine: Engine, recorder: Recorder
) -> None:
    recorder.fail_for = {"acme"}
    outcome = fire(recorder.context(engine), "accrual", AT)
    assert recorder.named("accrue") == [("acme", AT), ("bolt", AT)]
    assert outcome.status is RunStatus.ERROR
    assert outcome.message is not None
    assert "acme" in outcome.message and "accrue broke for acme" in outcome.message


def test_every_defined_job_has_a_function() -> None:
    from sync.scheduler.jobs import JOB_FUNCTIONS

    assert {d.job_id for d in JOBS} == set(JOB_FUNCTIONS)


def test_unknown_job_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(ValueError, match="job: unknown job 'nope'"):
        fire(JobContext(engine), "nope", AT)


def test_the_real_jobs_run_on_a_quiet_database(engine: Engine) -> None:
    """The default callables match the signatures of the packages they call."""
    from sqlmodel import Session

    from tests.billing.factories import make_partner

    with Session(engine) as session:
        make_partner(session, "acme")
        session.commit()
    ctx = JobContext(engine)
    for definition in JOBS:
        outcome = fire(ctx, definition.job_id, AT)
        assert outcome.status is RunStatus.OK, (definition.job_id, outcome.message)


def test_a_failing_reconciliation_is_a_job_error(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run_due_reconciliations(engine: Engine, now: datetime) -> None:
        raise RuntimeError("reconcile exploded")

    monkeypatch.setattr(jobs, "run_due_reconciliations", run_due_reconciliations)
    outcome = fire(JobContext(engine), "reconcile", AT)
    assert outcome.status is RunStatus.ERROR
    assert outcome.message == "RuntimeError: reconcile exploded"


def test_payment_readback_pulls_every_active_connection(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    from sqlmodel import Session

    from connectors.connections.models import Connection, ConnectionStatus, Provider

    add_partner(engine, "acme")
    with Session(engine) as session:
        for cid, provider, status in (
            ("c1", Provider.QUICKBOOKS, ConnectionStatus.ACTIVE),
            ("c2", Provider.XERO, ConnectionStatus.NEEDS_REAUTH),
            ("c3", Provider.XERO, ConnectionStatus.ACTIVE),
            ("c4", Provider.STRIPE, ConnectionStatus.ACTIVE),
        ):
            session.add(
                Connection(id=cid, partner_id="acme", name=cid, provider=provider, status=status)
            )
        session.commit()
    pulled: list[str] = []

    def pull_payments(engine: Engine, connection_id: str) -> object:
        pulled.append(connection_id)
        if connection_id == "c3":
            raise RuntimeError("remote down")
        return types.SimpleNamespace(recorded=2)

    monkeypatch.setattr(jobs, "pull_payments", pull_payments)
    outcome = fire(JobContext(engine), "payments_readback", AT)
    assert pulled == ["c1", "c3"]
    assert outcome.status is RunStatus.ERROR
    assert (
        outcome.message is not None and "c3" in outcome.message and "remote down" in outcome.message
    )
