"""A sync worker thread that dies fails the whole `worker` run: the error reaches the caller
(a non-zero exit for `worker --once`), and the other workers stop after their batch instead of
running on with fewer threads."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

import sync.cli as sync_cli
from sync.worker import RunStats, Worker


def test_a_worker_that_dies_fails_the_run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def run_once(self: Worker, stop: threading.Event) -> RunStats:
        name = threading.current_thread().name
        calls.append(name)
        if name == "sync-0":
            raise RuntimeError("cursor insert refused")
        return RunStats()

    monkeypatch.setattr(Worker, "run_once", run_once)
    with pytest.raises(RuntimeError, match="cursor insert refused"):
        sync_cli.run_workers(engine, lambda _c: None, once=True, concurrency=2)  # type: ignore[arg-type, return-value]
    assert sorted(calls) == ["sync-0", "sync-1"]


def test_a_worker_that_dies_stops_the_others(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    others_stopped = threading.Event()

    def run_forever(self: Worker, stop_event: threading.Event) -> None:
        if threading.current_thread().name == "sync-0":
            raise RuntimeError("database gone")
        assert stop_event.wait(timeout=30), "the other worker was never told to stop"
        others_stopped.set()

    monkeypatch.setattr(Worker, "run_forever", run_forever)
    with pytest.raises(RuntimeError, match="database gone"):
        sync_cli.run_workers(engine, lambda _c: None, once=False, concurrency=2, stop=stop)  # type: ignore[arg-type, return-value]
    assert stop.is_set() and others_stopped.is_set()


def test_workers_that_finish_return_their_stats(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Worker, "run_once", lambda self, stop: RunStats(claimed=3))
    stats = sync_cli.run_workers(engine, lambda _c: None, once=True, concurrency=2)  # type: ignore[arg-type, return-value]
    assert [s.claimed for s in stats] == [3, 3]
