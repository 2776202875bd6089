"""The worker calls the Stripe charge pass once per `run_once`, and a failing Stripe pass
never stops the accounting sync (the invoices still reach the remote)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from tests.fakes.memory_connector import MemoryRemote
from tests.sync.helpers import Clock, issue, make_worker


def test_each_pass_charges_once_with_the_workers_clock(engine: Engine, session: Session) -> None:
    issue(session)
    calls: list[tuple[Engine, datetime]] = []
    clock = Clock()
    worker = make_worker(
        engine, MemoryRemote(), clock, charge=lambda e, now: calls.append((e, now))
    )
    worker.run_once()
    worker.run_once()
    assert [c[0] for c in calls] == [engine, engine]
    assert calls[0][1] == clock()


def test_a_stripe_failure_does_not_stop_the_accounting_sync(
    engine: Engine, session: Session
) -> None:
    [first, second] = issue(session)
    remote = MemoryRemote()

    def broken(engine: Engine, now: datetime) -> object:
        raise RuntimeError("stripe is down")

    stats = make_worker(engine, remote, charge=broken).run_once()
    assert stats.charge_failed is True
    assert stats.done == 2 and stats.dead == 0
    for ours in (first, second):
        assert len(remote.invoices_by_number(str(ours.number))) == 1
