"""Claiming: exclusive between workers (threads, sessions, and SKIP LOCKED on PostgreSQL),
leases that run out, per-subject order, attempts, dead, retry by hand."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from tests.conftest import ON_POSTGRES
from workqueue import RetryPolicy
from workqueue import repository as wq

from .conftest import QUEUE, T0, add_items, items

POLICY = RetryPolicy(max_attempts=3)


def _row(engine: Engine, item_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(select(items).where(items.c.id == item_id)).mappings().one())


def _claim(engine: Engine, owner: str, *, at: object = T0, **kw: object) -> list[int]:
    with Session(engine) as session:
        claimed = wq.claim(session, QUEUE, at, owner=owner, **kw)  # type: ignore[arg-type]
        session.commit()
    return claimed


def test_two_threads_never_claim_the_same_item(queue_engine: Engine) -> None:
    ids = add_items(queue_engine, *(f"s{i}" for i in range(40)))
    barrier = threading.Barrier(4)
    taken: dict[str, list[int]] = {}

    def work(owner: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while claimed := _claim(queue_engine, owner, limit=3):
            mine += claimed
        taken[owner] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for mine in taken.values() for i in mine]
    assert sorted(every) == ids  # each item once, none lost
    assert all(_row(queue_engine, i)["locked_by"] in taken for i in ids)


def test_a_committed_claim_hides_the_item_from_the_next_claimer(queue_engine: Engine) -> None:
    first, second = add_items(queue_engine, "a", "b")
    assert _claim(queue_engine, "w1", limit=1) == [first]
    assert _claim(queue_engine, "w2", limit=5) == [second]
    assert _claim(queue_engine, "w3") == []


@pytest.mark.skipif(not ON_POSTGRES, reason="SKIP LOCKED is PostgreSQL's")
def test_an_uncommitted_claim_is_skipped_not_waited_for(queue_engine: Engine) -> None:
    first, second = add_items(queue_engine, "a", "b")
    with Session(queue_engine) as holder, Session(queue_engine) as other:
        assert wq.claim(holder, QUEUE, T0, owner="w1", limit=1) == [first]
        # holder has not committed: its row is locked, the other claimer skips it at once
        assert wq.claim(other, QUEUE, T0, owner="w2", limit=5) == [second]
        holder.commit()
        other.commit()


def test_a_lease_runs_out_and_the_late_worker_loses_the_item(queue_engine: Engine) -> None:
    (item,) = add_items(queue_engine, "a")
    assert _claim(queue_engine, "w1") == [item]
    lease_end = T0 + QUEUE.lease
    assert _claim(queue_engine, "w2", at=lease_end - timedelta(seconds=1)) == []
    assert _claim(queue_engine, "w2", at=lease_end) == [item]  # w1 crashed, say
    with Session(queue_engine) as session:
        assert not wq.settle(session, QUEUE, item, {"status": "done"}, owner="w1")
        assert wq.settle(session, QUEUE, item, {"status": "done"}, owner="w2")
        session.commit()
    assert _row(queue_engine, item)["status"] == "done"


def test_a_failure_waits_for_the_backoff_and_honours_retry_after(queue_engine: Engine) -> None:
    first, second = add_items(queue_engine, "a", "b")
    _claim(queue_engine, "w1")
    with Session(queue_engine) as session:
        assert wq.start(session, QUEUE, [first, second], "w1", T0) == 2
        rng = random.Random(7)
        assert (
            wq.fail(
                session,
                QUEUE,
                first,
                attempts=1,
                error="busy",
                now=T0,
                policy=POLICY,
                rng=rng,
                owner="w1",
            )
            == "pending"
        )
        assert (
            wq.fail(
                session,
                QUEUE,
                second,
                attempts=1,
                error="slow down",
                now=T0,
                policy=POLICY,
                rng=rng,
                owner="w1",
                retry_after=900,
            )
            == "pending"
        )
        session.commit()
    plain, limited = _row(queue_engine, first), _row(queue_engine, second)
    assert T0 + timedelta(seconds=1) <= plain["next_attempt_at"] <= T0 + timedelta(seconds=2)  # type: ignore[operator]
    assert limited["next_attempt_at"] >= T0 + timedelta(seconds=900)  # type: ignore[operator]
    assert (plain["locked_by"], plain["locked_until"], plain["last_error"]) == (None, None, "busy")
    assert _claim(queue_engine, "w2", at=T0 + timedelta(milliseconds=999)) == []
    assert _claim(queue_engine, "w2", at=T0 + timedelta(seconds=2)) == [first]


def test_dead_after_max_attempts_keeps_the_last_error_then_retry_by_hand(
    queue_engine: Engine,
) -> None:
    (item,) = add_items(queue_engine, "a")
    now = T0
    statuses = []
    for attempt in range(1, POLICY.max_attempts + 1):
        assert _claim(queue_engine, "w", at=now) == [item]
        with Session(queue_engine) as session:
            wq.start(session, QUEUE, [item], "w", now)
            statuses.append(
                wq.fail(
                    session,
                    QUEUE,
                    item,
                    attempts=attempt,
                    error=f"boom {attempt}",
                    now=now,
                    policy=POLICY,
                    owner="w",
                )
            )
            session.commit()
        now += timedelta(hours=2)
    assert statuses == ["pending", "pending", "dead"]
    dead = _row(queue_engine, item)
    assert (dead["status"], dead["attempts"], dead["last_error"]) == ("dead", 3, "boom 3")
    assert _claim(queue_engine, "w", at=now + timedelta(days=30)) == []
    with Session(queue_engine) as session:
        assert wq.retry(session, QUEUE, now, ids=[item]) == 1
        session.commit()
    revived = _row(queue_engine, item)
    assert (revived["status"], revived["attempts"], revived["next_attempt_at"]) == (
        "pending",
        0,
        now,
    )
    assert revived["last_error"] == "boom 3"  # kept until the next attempt says otherwise
    assert _claim(queue_engine, "w", at=now) == [item]


def test_a_permanent_failure_is_dead_at_once(queue_engine: Engine) -> None:
    (item,) = add_items(queue_engine, "a")
    _claim(queue_engine, "w")
    with Session(queue_engine) as session:
        status = wq.fail(
            session,
            QUEUE,
            item,
            attempts=1,
            error="rejected",
            now=T0,
            policy=POLICY,
            permanent=True,
            owner="w",
        )
        session.commit()
    assert status == "dead"


def test_an_item_whose_workers_keep_dying_goes_dead(queue_engine: Engine) -> None:
    (item,) = add_items(queue_engine, "a")
    now = T0
    for _ in range(3):
        assert _claim(queue_engine, "doomed", at=now, max_attempts=3) == [item]
        with Session(queue_engine) as session:
            wq.start(session, QUEUE, [item], "doomed", now)
            session.commit()
        now += QUEUE.lease
    assert _claim(queue_engine, "next", at=now, max_attempts=3) == []
    row = _row(queue_engine, item)
    assert row["status"] == "dead" and "worker stopped" in str(row["last_error"])


def test_items_of_one_subject_go_in_order_one_at_a_time(queue_engine: Engine) -> None:
    a1, b1, a2 = add_items(queue_engine, "a", "b", "a")
    assert _claim(queue_engine, "w1") == [a1, b1]  # a2 waits behind a1
    assert _claim(queue_engine, "w2", at=T0 + timedelta(minutes=1)) == []  # a1 still leased
    with Session(queue_engine) as session:
        wq.fail(
            session,
            QUEUE,
            a1,
            attempts=1,
            error="refused",
            now=T0,
            policy=POLICY,
            permanent=True,
            owner="w1",
        )
        session.commit()
    assert _claim(queue_engine, "w2", at=T0 + timedelta(minutes=1)) == []  # a dead a1 holds a2
    with Session(queue_engine) as session:
        wq.retry(session, QUEUE, T0, ids=[a1])
        session.commit()
    assert _claim(queue_engine, "w2", at=T0 + timedelta(minutes=1)) == [a1]
    with Session(queue_engine) as session:
        assert wq.settle(session, QUEUE, a1, {"status": "done", "locked_by": None}, owner="w2")
        session.commit()
    assert _claim(queue_engine, "w3", at=T0 + timedelta(minutes=1)) == [a2]


def test_enqueue_is_idempotent_per_key(queue_engine: Engine) -> None:
    def item() -> object:
        return items.insert().values(
            key="once", subject="a", status="pending", attempts=0, next_attempt_at=T0
        )

    with Session(queue_engine) as session:
        assert wq.enqueue(session, item())
        assert not wq.enqueue(session, item())  # the same key: nothing added, no error
        session.commit()
    with queue_engine.connect() as conn:
        assert len(conn.execute(select(items)).all()) == 1
