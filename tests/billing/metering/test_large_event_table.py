"""Ingest's properties on an event table of tens of thousands of events, statistics never
gathered (tests/large_tables.py): a replay writes nothing and is reported as a duplicate
(whatever offset its instant is written in: the body hash of test_validation.py), a replay
with another body is refused naming the event and changes nothing, two processes ingesting
the same events together store each exactly once. On PostgreSQL, once psycopg has prepared
the lookups of stored events, their generic plans must probe the unique index by event id
(an expected failure until those lookups are `unnest` joins planned that way).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session, col

from billing.metering import UsageEvent, ingest
from tests.conftest import ON_POSTGRES
from tests.large_tables import (
    BULK,
    EVENTS,
    LargeDatabase,
    bulk_event,
    generic_plan,
    large_database,
    prepared_statements,
    recorded_statements,
    unique_suffix,
    use_database,
)
from tests.ledger.test_large_ledger import PREPARED_AFTER, assert_probes_the_key_index

FEW = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def large(
    request: pytest.FixtureRequest,
    _database_template: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LargeDatabase]:
    database = large_database(request.config, _database_template, tmp_path_factory)
    database.ensure_events()
    with use_database(database, monkeypatch):
        yield database


def _rows(session: Session, event_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """What is stored of these events of `BULK`: id, body hash, quantity, arrival."""
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(event_ids), 500):
        query = select(
            col(UsageEvent.event_id),
            col(UsageEvent.id),
            col(UsageEvent.body_hash),
            col(UsageEvent.quantity),
            col(UsageEvent.received_at),
        ).where(
            col(UsageEvent.partner_id) == BULK,
            col(UsageEvent.event_id).in_(event_ids[start : start + 500]),
        )
        found.update((row[0], tuple(row[1:])) for row in session.execute(query))
    return found


def _count(session: Session) -> int:
    query = select(func.count()).select_from(UsageEvent).where(col(UsageEvent.partner_id) == BULK)
    return int(session.scalar(query) or 0)


def _rewritten(body: dict[str, Any], hours: int) -> dict[str, Any]:
    """The same event written another way: its instant in another offset, its quantity with
    trailing zeros. The body hash, hence the replay, must not see the difference."""
    instant = datetime.fromisoformat(body["occurred_at"])
    quantity = body["quantity"]
    return {
        **body,
        "occurred_at": instant.astimezone(timezone(timedelta(hours=hours))).isoformat(),
        "quantity": f"{quantity}0" if "." in quantity else f"{quantity}.00",
    }


@FEW
@given(
    replayed=st.lists(st.integers(0, EVENTS - 1), min_size=1, max_size=1500, unique=True),
    offsets=st.lists(st.integers(-12, 14), min_size=1, max_size=5),
    fresh=st.integers(0, 40),
    conflicting=st.lists(st.integers(0, 10**6), max_size=3),
)
def test_replays_among_many_events_are_duplicates_and_conflicts_change_nothing(
    large: LargeDatabase,
    replayed: list[int],
    offsets: list[int],
    fresh: int,
    conflicting: list[int],
) -> None:
    suffix = unique_suffix()
    again = [
        _rewritten(bulk_event(n, large.events_base), offsets[i % len(offsets)])
        for i, n in enumerate(replayed)
    ]
    changed: dict[str, int] = {}  # event id -> index in the batch
    for pick in conflicting:
        index = pick % len(again)
        body = again[index]
        again[index] = {**body, "quantity": str(Decimal(body["quantity"]) + 1)}
        changed[body["event_id"]] = index
    new = [
        {**bulk_event(n, large.events_base), "event_id": f"fresh-{suffix}-{n}"}
        for n in range(fresh)
    ]
    batch = [*again, *new]
    ids = [body["event_id"] for body in again]
    with Session(large.engine) as session:
        before, count = _rows(session, ids), _count(session)
        result = ingest(session, BULK, batch)
        session.commit()
        assert result.accepted == fresh
        assert result.duplicates == len(again) - len(changed)
        assert [(r.index, r.field, r.event_id) for r in result.rejections] == [
            (index, "event_id", event_id)
            for event_id, index in sorted(changed.items(), key=lambda item: item[1])
        ]
        for rejection in result.rejections:
            assert rejection.reason == (
                f"conflict: event_id {rejection.event_id!r} was already received with a "
                "different body"
            )
        assert _rows(session, ids) == before  # neither the replays nor the conflicts wrote
        assert _count(session) == count + fresh


@pytest.mark.slow
def test_two_processes_ingesting_the_same_events_among_many_store_each_once(
    large: LargeDatabase,
) -> None:
    """Both send the same 1,000 new events and 500 of `BULK`'s stored ones, in batches of
    500, in opposite orders (lock order must not deadlock)."""
    import multiprocessing

    suffix = unique_suffix()
    new = [
        {**bulk_event(n, large.events_base), "event_id": f"pair-{suffix}-{n:05d}"}
        for n in range(1_000)
    ]
    old = [bulk_event(n, large.events_base) for n in range(0, EVENTS, EVENTS // 500)]
    events = [event for pair in itertools.zip_longest(new, old) for event in pair if event]
    with Session(large.engine) as session:
        count = _count(session)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_send_all, args=(large.url, batch, start, results))
        for batch in (events, events[::-1])
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    assert sum(accepted for accepted, _, _ in outcomes) == len(new)
    assert sum(duplicates for _, duplicates, _ in outcomes) == 2 * len(events) - len(new)
    assert all(rejected == 0 for _, _, rejected in outcomes)
    with Session(large.engine) as session:
        assert _count(session) == count + len(new)
        stored = session.scalars(
            select(col(UsageEvent.event_id)).where(
                col(UsageEvent.partner_id) == BULK,
                col(UsageEvent.event_id).like(f"pair-{suffix}-%"),
            )
        ).all()
    assert sorted(stored) == sorted(body["event_id"] for body in new)


def _send_all(url: str, events: list[dict[str, Any]], start: Any, results: Any) -> None:
    """Runs in a fresh process, on its own engine."""
    from config.db import create_db_engine

    engine = create_db_engine(url)
    accepted = duplicates = rejected = 0
    start.wait(timeout=300)
    for offset in range(0, len(events), 500):
        with Session(engine) as session:
            result = ingest(session, BULK, events[offset : offset + 500])
            session.commit()
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += result.rejected
    engine.dispose()
    results.put((accepted, duplicates, rejected))


@pytest.mark.skipif(not ON_POSTGRES, reason="the generic-plan trap is PostgreSQL's")
def test_the_prepared_stored_event_lookups_probe_the_unique_index(large: LargeDatabase) -> None:
    """`stored` and `stored_hashes` send one `unnest` array per lookup, never an IN list, and
    even under a forced generic plan each event id probes the unique index
    (`config.key_arrays.probed_queries`), as the ledger's `keys_posted` does."""
    replays = [bulk_event(n, large.events_base) for n in range(0, EVENTS, 30)]
    ids = [body["event_id"] for body in replays]
    suffix = unique_suffix()
    with Session(large.engine) as session, recorded_statements(large.engine) as statements:
        for round_ in range(PREPARED_AFTER + 3):
            replay = ingest(session, BULK, replays)  # nothing new: `stored_hashes`
            assert (replay.accepted, replay.duplicates) == (0, len(replays))
            fresh = {**replays[0], "event_id": f"plan-{suffix}-{round_}"}
            mixed = ingest(session, BULK, [*replays, fresh])  # some new: `stored`
            assert (mixed.accepted, mixed.duplicates) == (1, len(replays))
        lookups = [s for s in statements if "FROM usage_event" in s and "body_hash" in s]
        assert lookups and all("unnest" in s and " IN (" not in s for s in lookups), lookups[0][
            :300
        ]
        prepared = [
            statement
            for statement in prepared_statements(session, "usage_event", "unnest", "body_hash")
            if not statement[1].lstrip().startswith("INSERT")  # ingestion's write, not a lookup
        ]
        assert len(prepared) == 2, [sql for _, sql, _, _ in prepared]  # stored, stored_hashes
        plans = [generic_plan(session, name, BULK, ids) for name, _, _, _ in prepared]
        session.rollback()
    for plan in plans:
        assert_probes_the_key_index(plan, "usage_event", "event_id")
