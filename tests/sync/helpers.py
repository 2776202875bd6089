"""A partner with N clients, a connection, issued invoices, and a worker on the memory fake."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Integer, String, column, insert, table, update
from sqlmodel import Session, select

from billing.invoicing.models import Invoice
from config.db_types import UTCDateTime
from mappings.base import BASE_FEE_ITEM
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxRow
from sync.worker import Worker
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    send,
    setup_partner,
)
from tests.fakes.memory_connector import MemoryConnector, MemoryRemote

CONNECTION = "conn-1"


@dataclass
class FakeMapping:
    provider: str = "memory"
    draft: bool = False
    max_unit_price_decimals: int = 4
    max_quantity_decimals: int = 4

    def item_code(self, usage_type: str | None) -> str:
        return usage_type or BASE_FEE_ITEM

    def income_account(self, usage_type: str | None) -> str | None:
        return "4000"

    def tax_code(self, *, taxed: bool) -> str | None:
        return "TAX" if taxed else None

    def tracking(self) -> Mapping[str, str]:
        return {}

    def required_remote_names(self) -> Mapping[str, str]:
        return {}


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def partner_toml(clients: int) -> str:
    if clients <= 2:
        return SIMPLE
    extra = "".join(
        f'\n[clients.k{i}]\nname = "Client {i}"\nemail = "k{i}@example.com"\nplan = "std"\n'
        for i in range(clients - 2)
    )
    return SIMPLE + extra


_connections = table(
    "connector_connection",
    *(column(name, String()) for name in ("id", "partner_id", "name", "provider", "status")),
    column("token_version", Integer()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


def connect(
    session: Session, partner: str = "acme", connection_id: str = CONNECTION, status: str = "active"
) -> None:
    now = datetime.now(UTC)
    session.execute(
        insert(_connections).values(
            id=connection_id,
            partner_id=partner,
            name=connection_id,
            provider="memory",
            status=status,
            token_version=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()


def set_connection(
    session: Session, status: str, connection_id: str = CONNECTION, later: float = 1.0
) -> None:
    """Change the connection's status (as re-authorising does), `later` seconds from now."""
    session.execute(
        update(_connections)
        .where(_connections.c.id == connection_id)
        .values(status=status, updated_at=datetime.now(UTC) + timedelta(seconds=later))
    )
    session.commit()


def issue(session: Session, clients: int = 2) -> list[Invoice]:
    """Partner with `clients` clients, a connection, usage for c1, every client invoiced."""
    setup_partner(session, partner_toml(clients))
    connect(session)
    month = last_month()
    send(session, [("v1", "c1", "voice", "123.45", at(month, 2))])
    return close_and_issue(session, month)


def make_worker(
    engine: Engine, remote: MemoryRemote, clock: Clock | None = None, **kwargs: Any
) -> Worker:
    max_batch = kwargs.pop("max_batch", 10)

    def open_remote(connection: ConnectionSummary) -> Remote:
        return Remote(MemoryConnector(remote, max_batch=max_batch), FakeMapping())

    return Worker(engine, open_remote, clock=clock or Clock(), **kwargs)


def rows(session: Session) -> list[OutboxRow]:
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one while a read is open)
    session.expire_all()
    return list(session.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]
