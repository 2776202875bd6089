"""The same events sent at the same moment by two processes are stored once each.

On PostgreSQL both transactions really overlap: the second writer's `ON CONFLICT DO NOTHING`
waits on the first's uncommitted rows and then reports them as duplicates. On SQLite the
writers take turns, which must give the same outcome.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from billing.metering import UsageEvent
from tests.billing.factories import event, make_partner

EVENTS = 3000
BATCH = 500


def _send_all(events: list[dict[str, Any]], start: Barrier, results: Any) -> None:
    """Runs in a fresh process: its own engine from REBILL_DATABASE_URL (set by the fixture)."""
    from billing.metering import ingest
    from config.db import session_scope

    accepted = duplicates = rejected = 0
    start.wait(timeout=300)
    for offset in range(0, len(events), BATCH):
        with session_scope() as session:
            result = ingest(session, "acme", events[offset : offset + BATCH])
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += result.rejected
    results.put((accepted, duplicates, rejected))


@pytest.mark.slow
def test_two_processes_sending_the_same_events_store_each_once(session: Session) -> None:
    make_partner(session, "acme")
    events = [event(f"e-{i:05d}", client=("alpha", "beta")[i % 2]) for i in range(EVENTS)]
    reversed_events = events[::-1]  # opposite order: lock order must not deadlock
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_send_all, args=(batch, start, results))
        for batch in (events, reversed_events)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    assert sum(o[0] for o in outcomes) == EVENTS
    assert sum(o[1] for o in outcomes) == EVENTS
    assert all(o[2] == 0 for o in outcomes)
    assert session.scalar(select(func.count()).select_from(UsageEvent)) == EVENTS
    distinct = select(func.count(func.distinct(UsageEvent.event_id)))  # type: ignore[arg-type]
    assert session.scalar(distinct) == EVENTS
