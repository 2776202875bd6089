"""The sync worker: claims due outbox rows and carries them out through the connectors.

For each connection with claimed rows it opens the connector and mapping once (through the
injected `open_remote`), then: customer upserts; invoice pushes in batches of the connector's
`max_batch` (ensure customers → ensure items → look the numbers up remotely when an earlier
create may have reached the remote (attempted marker), so a create whose answer was lost is
never repeated → push); voids; credit notes.
Each success records the external reference and completes the row in one transaction.
Failures go through the retry policy of `sync.repository.fail_row`. Connector calls are async:
each claimed batch runs in one `asyncio.run`.

Database writes are short transactions of their own; connector calls happen outside any
transaction, so a slow remote never holds a database lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from config.db import read_scope, session_scope
from config.db_types import utcnow
from connectors.base import AuthExpiredError, ConnectorError, RejectedError, RetryableError
from mappings.base import MappingError
from mappings.invoices import SpecError
from sync import repository as repo
from sync.claims import take_write_lock
from sync.connections import ConnectionSummary, connection_summaries
from sync.handlers import Handlers, Remote, describe
from sync.models import OutboxRow, OutboxStatus
from sync.service import fan_out

__all__ = ["ChargeHook", "OpenRemote", "Remote", "RunStats", "Worker"]

log = logging.getLogger("rebill.sync")

OpenRemote = Callable[[ConnectionSummary], Remote]
ChargeHook = Callable[[Engine, datetime], object]
"""Charges due card payments (the CLI passes `sync.stripe.charge_due_invoices`)."""


@dataclass
class RunStats:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    paused: int = 0
    fanned_out: int = 0
    charge_failed: bool = False  # the Stripe pass raised (logged; the sync went on)
    webhooks_failed: bool = False  # the partner-webhook pass raised (logged; the sync went on)
    by_status: dict[str, int] = field(default_factory=dict)


class Worker:
    """One worker; run several (threads or processes) on the same database safely."""

    def __init__(
        self,
        engine: Engine,
        open_remote: OpenRemote,
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = repo.MAX_ATTEMPTS,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        fan_out_first: bool = True,
        connection_id: str | None = None,
        charge: ChargeHook | None = None,
        webhooks: ChargeHook | None = None,
    ) -> None:
        self.engine = engine
        self.open_remote = open_remote
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.fan_out_first = fan_out_first
        self.connection_id = connection_id  # only this connection's rows (None: every one)
        self.charge = charge  # once per pass; None in tests that only exercise the outbox
        self.webhooks = webhooks  # partner webhooks due now, once per pass (docs/webhooks.md)
        self._started: set[int] = set()  # rows whose attempt this claim has counted

    # transactions ----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction that takes SQLite's write lock with its first statement
        (a no-op UPDATE of the outbox), so a claim waits its turn instead of failing."""
        with session_scope(self.engine) as session:
            take_write_lock(session)
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read; closing (not rolling back) keeps what it loaded usable afterwards."""
        with read_scope(self.engine) as session:
            yield session

    # loop ------------------------------------------------------------------------------
    def run_once(self, stop: threading.Event | None = None) -> RunStats:
        """Fan out, resume re-authorised connections, then drain every row due now."""
        stats = RunStats()
        if self.fan_out_first:
            with self.write() as session:
                stats.fanned_out = fan_out(session, now=self.clock()).rows_created
        self.resume_reauthorised()
        self.charge_cards(stats)
        while stop is None or not stop.is_set():
            if not self.run_batch(stats):
                break
        self.deliver_webhooks(stats)
        return stats

    def deliver_webhooks(self, stats: RunStats) -> None:
        """Partner webhooks due now (after the drain, so a `sync.failed` of this pass goes
        out at once); a failure is logged and never stops the accounting sync."""
        if self.webhooks is None:
            return
        try:
            self.webhooks(self.engine, self.clock())
        except Exception:  # isolation is the point
            log.exception("partner webhook pass failed; the accounting sync goes on")
            stats.webhooks_failed = True

    def charge_cards(self, stats: RunStats) -> None:
        """Stripe charges and dunning retries due now. Charging runs before the drain so a
        payment it records fans out next pass; any failure (Stripe down, a bug, even the
        database) is logged and never stops the accounting sync."""
        if self.charge is None:
            return
        try:
            self.charge(self.engine, self.clock())
        except Exception:  # isolation is the point
            log.exception("stripe charge pass failed; the accounting sync goes on")
            stats.charge_failed = True

    def run_forever(self, stop: threading.Event, idle_seconds: float = 2.0) -> None:
        while not stop.is_set():
            try:
                stats = self.run_once(stop)
            except Exception:  # keep the worker alive; the row's lease expires if we died mid-way
                log.exception("sync worker pass failed")
                stats = RunStats()
            if stats.claimed == 0:
                stop.wait(idle_seconds)

    def resume_reauthorised(self) -> int:
        """Paused rows of connections that are active again and changed after the pause."""
        resumed = 0
        with self.write() as session:
            for connection in connection_summaries(session, statuses=("active",)):
                paused_at = repo.paused_before(session, connection.id)
                if paused_at is not None and connection.updated_at > paused_at:
                    resumed += repo.resume_connection(session, connection.id, self.clock())
        return resumed

    def run_batch(self, stats: RunStats) -> bool:
        """Claim one batch and carry it out; False when nothing was due."""
        with self.write() as session:
            rows = repo.claim_due(
                session,
                self.worker_id,
                now=self.clock(),
                limit=self.batch_size,
                lease=self.lease,
                max_attempts=self.max_attempts,
                connection_id=self.connection_id,
            )
        if not rows:
            return False
        stats.claimed += len(rows)
        by_connection: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_connection.setdefault(row.connection_id, []).append(row)
        asyncio.run(self._run_connections(by_connection, stats))
        return True

    async def _run_connections(
        self, by_connection: dict[str, list[OutboxRow]], stats: RunStats
    ) -> None:
        with self.read() as session:
            summaries = {
                c.id: c for c in connection_summaries(session, connection_ids=list(by_connection))
            }
        for connection_id, rows in by_connection.items():
            connection = summaries.get(connection_id)
            if connection is None:
                error = RejectedError("the connection no longer exists")
                for row in rows:
                    self.fail(row, error, "the connection was removed", stats)
                continue
            await self._run_connection(connection, rows, stats)

    async def _run_connection(
        self, connection: ConnectionSummary, rows: list[OutboxRow], stats: RunStats
    ) -> None:
        if not connection.active:
            reason = f"connection {connection.name} is {connection.status}: re-authorise it"
            for row in rows:
                self.fail(row, AuthExpiredError(reason), reason, stats)
            return
        try:
            remote = self.open_remote(connection)
        except Exception as exc:  # a connection that cannot be opened fails its rows, not us
            error = _setup_error(exc)
            for row in rows:
                self.fail(row, error, describe(connection, error), stats)
            return
        try:
            await Handlers(self, connection, remote, stats).run(rows)
        finally:
            await remote.connector.aclose()

    # outcomes (called by the handlers) -----------------------------------------------------
    def start(self, rows: list[OutboxRow]) -> None:
        """Count the attempt of rows about to go to the remote (once per claim)."""
        fresh = [row for row in rows if row.id is not None and row.id not in self._started]
        if not fresh:
            return
        with self.write() as session:
            repo.start_rows(session, [row.id or 0 for row in fresh], self.worker_id, self.clock())
        for row in fresh:
            row.attempts += 1
            self._started.add(row.id or 0)

    def complete(self, row: OutboxRow, stats: RunStats, note: str | None = None) -> None:
        with self.write() as session:
            self.complete_in(session, row, stats, note)

    def complete_in(
        self, session: Session, row: OutboxRow, stats: RunStats, note: str | None = None
    ) -> None:
        self._started.discard(row.id or 0)
        if repo.complete_row(session, row.id or 0, self.worker_id, self.clock(), note):
            stats.done += 1
        else:
            log.warning("outbox row %s: lease lost before completion", row.id)

    def fail(self, row: OutboxRow, error: Exception, message: str, stats: RunStats) -> None:
        if not isinstance(error, ConnectorError):
            if isinstance(error, MappingError | SpecError):
                error = RejectedError(str(error))
            else:
                error = RetryableError(f"{type(error).__name__}: {error}")
        self.start([row])  # a row failed before its remote call still spends an attempt
        self._started.discard(row.id or 0)
        with self.write() as session:
            status = repo.fail_row(
                session,
                row,
                self.worker_id,
                error,
                message,
                self.clock(),
                self.rng,
                max_attempts=self.max_attempts,
            )
            if isinstance(error, AuthExpiredError) and status is not None:
                repo.pause_connection(session, row.connection_id, message, self.clock())
        if status is OutboxStatus.DEAD:
            stats.dead += 1
            log.warning("outbox row %s dead: %s", row.id, message)
        elif status is OutboxStatus.PAUSED:
            stats.paused += 1
        elif status is OutboxStatus.PENDING:
            stats.retried += 1


def _setup_error(exc: Exception) -> ConnectorError:
    """Opening a connection failed: configuration problems (a mapping setting, a missing realm,
    an unknown provider) need the partner; anything else may pass."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, MappingError | ValueError | LookupError):
        return RejectedError(str(exc))
    return RetryableError(f"{type(exc).__name__}: {exc}")
