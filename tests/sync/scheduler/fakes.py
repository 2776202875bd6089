"""Fake job callables that record their calls, and a partner factory for scheduler tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from billing.tenants.models import Partner
from sync.scheduler.jobs import JobContext


@dataclass
class Recorder:
    """Every call as (job name, args); thread-safe (several schedulers call it)."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    drafts: int = 0
    fail_for: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return [args for n, args in self.calls if n == name]

    def _record(self, name: str, args: tuple[Any, ...]) -> None:
        with self.lock:
            self.calls.append((name, args))

    def partner_job(self, name: str, result: object = 0) -> Any:
        def job(session: Session, partner_id: str, now: datetime) -> object:
            assert isinstance(session, Session)
            self._record(name, (partner_id, now))
            if partner_id in self.fail_for:
                raise RuntimeError(f"{name} broke for {partner_id}")
            return self.drafts if name == "close" else result

        return job

    def engine_job(self, name: str) -> Any:
        def job(engine: Engine, now: datetime) -> object:
            self._record(name, (engine, now))
            return f"{name} done"

        return job

    def context(self, engine: Engine) -> JobContext:
        return JobContext(
            engine,
            accrue=self.partner_job("accrue"),
            close=self.partner_job("close"),
            issue=self.partner_job("issue"),
            drain_outbox=self.engine_job("drain_outbox"),
            pull_payments=self.engine_job("pull_payments"),
            refresh_tokens=self.engine_job("refresh_tokens"),
            charge=self.engine_job("charge"),
            send_mail=self.engine_job("send_mail"),
            reconcile=self.engine_job("reconcile"),
        )


def add_partner(engine: Engine, partner_id: str, timezone: str = "UTC", **settings: Any) -> None:
    with Session(engine) as session:
        session.add(
            Partner(
                id=partner_id,
                name=partner_id.title(),
                currency="USD",
                timezone=timezone,
                invoice_prefix=partner_id[:3].upper(),
                settings=settings,
            )
        )
        session.commit()
